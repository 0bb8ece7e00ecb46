"""Form checks for the predict-first exercises (``NN_predict_<slug>``).

A predict-first exercise asks for a prediction — a number or one of a few labelled options —
before the lesson measures it. The visible test cell checks only the *form* of the answer and
says how the grader will score it; whether the prediction is right is decided by the hidden
tests, which the grader compares with the instructor's value in its own process (as for every
exercise: see :mod:`course_lib.check`). A prediction of the wrong form raises
:class:`~course_lib.check.CheckFailed` naming the problem, in the notebook and under the grader.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from course_lib.check import CheckFailed


def _fail(name: str, problem: str, example: str) -> None:
    raise CheckFailed(f"\u2718 {name}: {problem}\nHint: write it as, for example, `{example}`")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number(
    name: str,
    value: Any,
    graded: str,
    low: float | None = None,
    high: float | None = None,
) -> float:
    """Check that the prediction ``name`` is one finite number (int or float, not a bool, a
    string or a tensor), strictly above ``low`` and at most ``high`` when given; print it and
    ``graded`` (how the grader scores it). Returns it as a float."""
    example = f"{name} = 12.5"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.number)):
        _fail(name, f"expected a number (int or float), got {type(value).__name__} "
              f"{_shown(value)}", example)  # fmt: skip
    as_float = float(value)
    if not math.isfinite(as_float):
        _fail(name, f"expected a finite number, got {as_float}", example)
    if low is not None and as_float <= low:
        _fail(name, f"expected a number above {low:g}, got {as_float:g}", example)
    if high is not None and as_float > high:
        _fail(name, f"expected a number of at most {high:g}, got {as_float:g}", example)
    print(f"\u2714 {name} is a number: {as_float:g}. {graded}")
    return as_float


def choice(name: str, value: Any, options: Sequence[str], graded: str) -> str:
    """Check that the prediction ``name`` is exactly one of ``options`` (strings such as
    ``"A"``); print it and ``graded``. Returns it."""
    listed = ", ".join(repr(o) for o in options)
    example = f'{name} = "{options[0]}"'
    if not isinstance(value, str):
        _fail(name, f"expected one of {listed} (a string, in quotes), got "
              f"{type(value).__name__} {_shown(value)}", example)  # fmt: skip
    if value not in options:
        near = [o for o in options if o.lower() == value.strip().lower()]
        why = f" (did you mean {near[0]!r}? It must match exactly)" if near else ""
        _fail(name, f"expected one of {listed}, got {_shown(value)}{why}", example)
    print(f"\u2714 {name} is one of the options: {value!r}. {graded}")
    return value
