"""Compare a learner's recorded value with the solution's, in the grader's own process.

Values arrive as plain data (JSON, or an array's raw bytes with a whitelisted dtype), so
no object from the learner's process is ever called here.
"""

from __future__ import annotations

import base64

import numpy as np

from ..check import differing_entries

_DTYPES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}
_MAX_ELEMENTS = 2**24


def decode(value: object) -> np.ndarray | object:
    """A recorded value as an ndarray (numbers) or a JSON value; raises ValueError if bad."""
    if not isinstance(value, dict):
        raise ValueError("malformed record")
    if "error" in value:
        raise ValueError(str(value["error"])[:300])
    if "json" in value:
        return value["json"]
    dtype, shape, data = value.get("dtype"), value.get("shape"), value.get("data")
    if not (isinstance(dtype, str) and dtype.lstrip("<>|=") in _DTYPES):
        raise ValueError(f"unsupported dtype {dtype!r}")
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise ValueError("malformed shape")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count > _MAX_ELEMENTS or not isinstance(data, str):
        raise ValueError("value too large")
    raw = base64.b64decode(data, validate=True)
    array = np.frombuffer(raw, dtype=np.dtype(dtype))
    if array.size != count:
        raise ValueError("data does not match its shape")
    return array.reshape(shape)


def compare(kind: str, params: dict, learner: dict, reference: dict) -> str | None:
    """``None`` if the learner's value passes the reference's check, else why not."""
    want = decode(reference)
    try:
        got = decode(learner)
    except ValueError as error:
        return f"your value could not be read: {error}"
    if kind == "answer":  # the answer's own report of what the grader will hold against it
        if not isinstance(got, list) or not all(isinstance(p, str) for p in got):
            return "your answer's report could not be read"
        return "; ".join(got) or None
    if kind == "equal" or kind == "raises":
        if isinstance(want, np.ndarray):
            if not isinstance(got, np.ndarray) or got.shape != want.shape:
                return _shape_problem(got, want)
            if got.dtype.kind != want.dtype.kind:
                return f"expected dtype kind {want.dtype}, got {got.dtype}"
            return None if np.array_equal(got, want) else differing_entries(got, want)
        if kind == "raises" and got != want:
            raised = got[0] if isinstance(got, list) and got else got
            return f"expected {want[0]} with the right message, got {raised}"
        return None if got == want else "not the expected value"
    if not isinstance(got, np.ndarray) or got.shape != want.shape:
        return _shape_problem(got, want)
    if kind == "shape":
        return None
    got64, want64 = got.astype(np.float64), want.astype(np.float64)
    extra, missing = np.isnan(got64) & ~np.isnan(want64), ~np.isnan(got64) & np.isnan(want64)
    if extra.any():
        return f"NaN in {int(extra.sum())} of {got.size} places where none was expected"
    if missing.any():
        return f"a number in {int(missing.sum())} of {got.size} places where NaN was expected"
    with np.errstate(invalid="ignore"):
        diff = np.abs(got64 - want64)
        tolerance = float(params.get("atol", 1e-5)) + float(params.get("rtol", 1e-4)) * np.abs(
            want64
        )
        ok = np.isnan(want64) | (got64 == want64) | (diff <= tolerance)
    if not ok.all():  # worded as the notebook's check.close words it
        shown = np.nan_to_num(np.where(ok, 0.0, diff), nan=np.inf)
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(shown)), shown.shape))
        return (
            f"{int((~ok).sum())} of {got.size} values differ from the expected ones; the "
            f"largest difference is {float(shown.max()):.3g} at index {where}"
        )
    return None


def _shape_problem(got: object, want: np.ndarray | object) -> str:
    got_desc = f"shape {tuple(got.shape)}" if isinstance(got, np.ndarray) else type(got).__name__
    want_desc = (
        f"shape {tuple(want.shape)}" if isinstance(want, np.ndarray) else type(want).__name__
    )
    return f"expected {want_desc}, got {got_desc}"
