"""Peak memory of a computation, measured by the operating system in a fresh child process.

Why a child process: memory a process has touched is what the kernel counts in its resident
set (RSS), whoever allocated it — torch tensors, a fused kernel's scratch buffers, the
allocator's own overhead. Lesson 03's ``peak_tensor_bytes`` sees only tensors created by torch
operations; a fused kernel's internal buffers escape it. Here each measurement runs in a new
process forked from a clean server process (``forkserver``, torch already imported): the
inputs are built first, then the kernel's high-water mark is reset (Linux
``/proc/self/clear_refs``) after the C allocator has handed back the memory it holds but no
longer uses (glibc's ``malloc_trim``: without it a warm-up that freed its buffers would leave
them resident, and the measured run would reuse them unseen), the computation runs once, and
the growth of the high-water mark over the resident size just before is its peak. A fresh
process means nothing another measurement left in the allocator's caches can hide or inflate
the peak.

On systems without ``/proc`` (macOS) the fallback is ``resource.getrusage``'s maximum RSS
before and after, which is the same in a fresh process unless building the inputs once used
more memory than the computation does.
"""

from __future__ import annotations

import ctypes
import gc
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

from course_lib.scale.processes import context

_PROC = Path("/proc/self")
T = TypeVar("T")


def _status_kib(field: str) -> int:
    for line in (_PROC / "status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # macOS: bytes, Linux: KiB


def _allocate_large_blocks_apart() -> None:
    """Make glibc give every block of 64 KiB or more its own pages (``mmap``), returned to the
    OS the moment it is freed, so the resident size follows the live tensors instead of a
    fragmented heap (glibc otherwise raises this threshold as big blocks are freed)."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _return_free_memory() -> None:
    """Hand memory the C allocator holds but no longer uses back to the OS (glibc's
    ``malloc_trim``), so that a step that reuses it still shows as growth."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim with
        pass


def peak_here(fn: Callable[[], object]) -> int:
    """Bytes by which this process's resident memory peaks while ``fn()`` runs (call it in a
    fresh process; :func:`in_child` runs a worker in one)."""
    gc.collect()
    _return_free_memory()
    try:
        (_PROC / "clear_refs").write_text("5")  # reset the high-water mark to the current RSS
        before = _status_kib("VmRSS") * 1024
        fn()
        return max(_status_kib("VmHWM") * 1024 - before, 0)
    except OSError:  # no /proc: compare the maximum RSS before and after
        before = _maxrss_bytes()
        fn()
        return max(_maxrss_bytes() - before, 0)


def _child(conn, worker: Callable[..., object], args: tuple, for_memory: bool) -> None:
    try:
        torch.set_num_threads(1)
        if for_memory:
            _allocate_large_blocks_apart()
        conn.send(("ok", worker(*args)))
    except BaseException as error:  # report, never hang the parent
        conn.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


def in_child(
    worker: Callable[..., T], *args: object, for_memory: bool = True, timeout: float = 300.0
) -> T:
    """Run ``worker(*args)`` in a fresh process on one thread and return what it returns
        (picklable) — a worker builds its inputs, then returns
        ``peak_here(lambda: <the computation>)``. ``for_memory=True`` gives large blocks their
    own pages from the start (the resident size then follows the live tensors, at some cost in
    speed); time a computation in a child with ``for_memory=False``.
        ``worker`` must be importable (defined in a module, not in a notebook)."""
    ctx = context()
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child, worker, args, for_memory), daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"timeout: the measurement took over {timeout} s")
        try:
            status, value = parent.recv()
        except EOFError:  # the child died without a word (killed, out of memory)
            process.join(5)
            status, value = "error", f"the child process exited with code {process.exitcode}"
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        parent.close()
    if status != "ok":
        raise RuntimeError(f"the measurement failed in the child process: {value}")
    return value
