"""The one way lesson 07 starts worker processes: a ``forkserver``.

A fork server is a clean process that imports torch (and the modules the workers need) once;
every worker is then a fork of it — about 0.1 s instead of about 2 s for a fresh interpreter —
and, unlike a fork of the notebook's own kernel, it inherits no threads and no half-finished
state. Where there is no fork server (Windows), workers are fresh interpreters (``spawn``).
Workers must be functions of an importable module, not of a notebook.
"""

from __future__ import annotations

import multiprocessing as mp

#: What the server imports once for every worker: torch, two modules torch otherwise imports
#: on first use in each worker (shape checks of masks ~1 s, ``DistributedDataParallel`` ~2 s),
#: and the modules that hold the workers.
SERVER_PRELOAD = [
    "torch",
    "torch.fx.experimental.symbolic_shapes",
    "torch._dynamo",
    "course_lib.scale.memory",
    "course_lib.scale.distributed",
]


def context() -> mp.context.BaseContext:
    """The multiprocessing context workers start from (set up once per process)."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(SERVER_PRELOAD)
        return ctx
    return mp.get_context("spawn")
