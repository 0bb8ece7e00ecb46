"""Runs one program in the learner's process: ``python -m course_lib.grading.runner FD``.

The program (JSON on stdin) is a list of cells. Each runs in one IPython shell, as in a
notebook; an error in one cell does not stop the next. The check helpers are switched to
recording mode: every value a test cell checks is written, as plain data, to the pipe
``FD`` as one JSON line. Nothing is compared here: the grader decides from those values.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

import numpy as np
import torch


class ChannelRecorder:
    """Writes each checked value to the grader's pipe as one JSON line."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.cell: str | None = None

    def send(self, event: dict) -> None:
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()

    def record(self, kind: str, name: str, value: Any, params: dict) -> None:
        if self.cell is None:  # a check outside a test cell is not graded
            return
        tensor_like = (torch.Tensor, np.ndarray, int, float)
        if kind in ("close", "shape") and not isinstance(value, tensor_like):
            value = _NotATensor(type(value).__name__)  # as the notebook's check would say
        if params.get("mistakes"):  # only in the solution's run: the learner's has none
            params = {
                **params,
                "mistakes": {str(k): encode(v) for k, v in params["mistakes"].items()},
            }
        self.send(
            {
                "event": "record",
                "cell": self.cell,
                "name": str(name),
                "kind": kind,
                "params": params,
                "value": encode(value),
            }
        )


class _NotATensor:
    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def encode(value: Any) -> dict:
    """Plain-data form of a checked value: an array's bytes, or JSON for strings/lists."""
    if isinstance(value, _NotATensor):
        return {"error": f"expected a tensor, got {value.type_name}"}
    if (
        isinstance(value, (str, bool))
        or value is None
        or (isinstance(value, list) and all(isinstance(v, (str, bool)) for v in value))
    ):
        return {"json": value}
    try:
        from ..check import _as_array

        array = np.ascontiguousarray(_as_array(value))
        if array.dtype.kind not in "biuf":
            return {"error": f"not numbers (dtype {array.dtype})"}
        return {
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    except Exception as error:  # noqa: BLE001 - any learner object may fail to convert
        return {"error": f"cannot convert {type(value).__name__} to an array: {error}"[:300]}


def poison(names: list[str]) -> None:
    """Make each dotted name (``course_lib.core.masks.masked_softmax``) raise
    ``check.ForbiddenReference`` whenever it is called, however it is reached (see
    ``check.replace_everywhere``)."""
    from course_lib.check import ForbiddenReference, forbidden_call, replace_everywhere

    for name in names:

        def refusing(original, _name=name):
            def refuse(*args, **kwargs):
                raise ForbiddenReference(forbidden_call(_name))

            return refuse

        replace_everywhere(name, refusing)


def _describe_error(result) -> str:
    error = result.error_in_exec or result.error_before_exec
    return f"{type(error).__name__}: {error}"[:500]


def main(fd: int | None = None) -> None:
    """Read the program from stdin, run it, report on pipe ``fd`` (default: ``argv[1]``)."""
    program = json.loads(sys.stdin.read())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # input() must not wait for a grader that never answers
    recorder = ChannelRecorder(os.fdopen(int(sys.argv[1]) if fd is None else fd, "w"))

    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    from course_lib import check

    check.RECORDER = recorder
    poison(program.get("forbidden", []))
    shell = InteractiveShell.instance(colors="nocolor")
    for index, cell in enumerate(program["cells"]):
        recorder.cell = cell["id"] if cell["kind"] == "test" else None
        result = shell.run_cell(cell["source"], store_history=False)
        if not result.success:
            recorder.send(
                {
                    "event": "error",
                    "index": index,
                    "cell": cell["id"],
                    "kind": cell["kind"],
                    "error": _describe_error(result),
                }
            )
    recorder.send({"event": "end"})
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown (and any atexit hook the learner added)


if __name__ == "__main__":
    main()
