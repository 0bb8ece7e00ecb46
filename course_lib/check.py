"""Learner-facing checks used by the exercises' test cells.

In a notebook each check compares a value with what was expected and prints a tick, or
raises :class:`CheckFailed` with what was expected (shape, dtype, a property) and a hint,
never the answer itself.

Under the grader (``course-grade``) the same calls only *record* the value the learner's
code produced: the grader strips every ``expected`` argument from the test cells before
they run in the learner's process and compares the recorded values, in its own process,
with those of the instructor's solution. Nothing patched in the learner's process can
therefore turn a wrong value into points.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch

#: The names of the check functions whose ``expected`` argument the grader strips,
#: mapped to the position of that argument.
EXPECTED_ARG = {"close": 2, "equal": 2, "shape": 2}


class CheckFailed(AssertionError):
    """A check did not pass; the message says what was expected and gives a hint."""


class Recorder(Protocol):
    def record(self, kind: str, name: str, value: Any, params: dict) -> None: ...


#: Set by the grader's runner; ``None`` in a learner's notebook.
RECORDER: Recorder | None = None


def _passed(name: str) -> None:
    print(f"\u2714 {name}")


def _fail(name: str, problem: str, hint: str | None) -> None:
    message = f"\u2718 {name}: {problem}"
    if hint:
        message += f"\nHint: {hint}"
    raise CheckFailed(message)


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def _describe(value: Any) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}, dtype {value.dtype}"
    return type(value).__name__


def close(
    name: str,
    value: Any,
    expected: Any = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str | None = None,
) -> None:
    """Check ``value`` is a tensor/array of ``expected``'s shape and close to it elementwise."""
    if RECORDER is not None:
        return RECORDER.record("close", name, value, {"atol": atol, "rtol": rtol})
    if value is None:
        _fail(name, "got None: did your function forget to `return`?", hint)
    if not isinstance(value, (torch.Tensor, np.ndarray, float, int)):
        _fail(name, f"expected a tensor, got {_describe(value)}", hint)
    got, want = _as_array(value), _as_array(expected)
    if got.shape != want.shape:
        _fail(name, f"expected shape {tuple(want.shape)}, got {tuple(got.shape)}", hint)
    if not np.issubdtype(got.dtype, np.number):
        _fail(name, f"expected numbers, got dtype {got.dtype}", hint)
    nan = np.isnan(got) & ~np.isnan(want)
    if nan.any():
        _fail(name, f"your result has NaN in {int(nan.sum())} of {got.size} places", hint)
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = diff > atol + rtol * np.abs(want.astype(np.float64))
    if bad.any():
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
        _fail(
            name,
            f"{int(bad.sum())} of {got.size} values differ from the expected ones; the "
            f"largest difference is {float(diff.max()):.3g} at index {where}",
            hint,
        )
    _passed(name)


def equal(name: str, value: Any, expected: Any = None, hint: str | None = None) -> None:
    """Check ``value`` equals ``expected`` exactly (ints, bools, strings, integer tensors)."""
    if RECORDER is not None:
        return RECORDER.record("equal", name, value, {})
    got, want = _as_array(value), _as_array(expected)
    if got.shape != want.shape:
        _fail(name, f"expected shape {tuple(want.shape)}, got {tuple(got.shape)}", hint)
    if got.dtype.kind != want.dtype.kind:
        _fail(name, f"expected dtype kind {want.dtype}, got {got.dtype}", hint)
    if not np.array_equal(got, want):
        wrong = int((got != want).sum()) if got.shape else 1
        _fail(name, f"{wrong} of {max(got.size, 1)} entries are not the expected ones", hint)
    _passed(name)


def shape(name: str, value: Any, expected: tuple = (), hint: str | None = None) -> None:
    """Check ``value`` is a tensor of shape ``expected``."""
    if RECORDER is not None:
        return RECORDER.record("shape", name, value, {})
    if not isinstance(value, (torch.Tensor, np.ndarray)):
        _fail(name, f"expected a tensor of shape {tuple(expected)}, got {_describe(value)}", hint)
    if tuple(value.shape) != tuple(expected):
        _fail(name, f"expected shape {tuple(expected)}, got {tuple(value.shape)}", hint)
    _passed(name)


def raises(
    name: str,
    fn: Callable[[], Any],
    exception: type[BaseException] = ValueError,
    match: str | None = None,
    hint: str | None = None,
) -> None:
    """Check that calling ``fn()`` raises ``exception`` whose message matches ``match``."""
    try:
        fn()
    except exception as error:
        outcome = (type(error).__name__, match is None or re.search(match, str(error)) is not None)
        message = str(error)
    except Exception as error:  # noqa: BLE001 - a learner's code may raise anything
        outcome, message = (type(error).__name__, False), str(error)
    else:
        outcome, message = ("no exception", False), ""
    if RECORDER is not None:
        return RECORDER.record("raises", name, list(outcome), {})
    if outcome[0] != exception.__name__:
        got = outcome[0] if outcome[0] == "no exception" else f"{outcome[0]}: {message}"
        _fail(name, f"expected {exception.__name__} to be raised, got {got}", hint)
    if not outcome[1]:
        _fail(name, f"the error message {message!r} should mention {match!r}", hint)
    _passed(name)
