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
#: Keyword arguments computed from the reference, stripped with ``expected`` in a learner's run.
REFERENCE_KWARGS = ("expected", "mistakes")


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


def differing_entries(got: np.ndarray, want: np.ndarray, show: int = 3) -> str:
    """Which entries of two same-shape arrays differ: how many, and where the first few are
    with the value there (never the expected value: the tests may be hidden)."""
    if not got.shape:
        return f"got {got.item()!r}, not the expected value"
    wrong = np.argwhere(got != want)  # (n_wrong, ndim)
    first = ", ".join(
        f"{tuple(int(i) for i in index)} (you have {got[tuple(index)].item()!r})"
        for index in wrong[:show]
    )
    return f"{len(wrong)} of {got.size} entries are not the expected ones, first at {first}"


def _describe(value: Any) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}, dtype {value.dtype}"
    return type(value).__name__


def _close_problem(value: Any, expected: Any, atol: float, rtol: float) -> str | None:
    """Why ``value`` is not ``expected`` within ``atol + rtol * |expected|`` (None: it is)."""
    if value is None:
        return "got None: did your function forget to `return`?"
    if not isinstance(value, (torch.Tensor, np.ndarray, float, int)):
        return f"expected a tensor, got {_describe(value)}"
    got, want = _as_array(value), _as_array(expected)
    if got.shape != want.shape:
        return f"expected shape {tuple(want.shape)}, got {tuple(got.shape)}"
    if not np.issubdtype(got.dtype, np.number):
        return f"expected numbers, got dtype {got.dtype}"
    nan = np.isnan(got) & ~np.isnan(want)
    if nan.any():
        return f"your result has NaN in {int(nan.sum())} of {got.size} places"
    number = np.isnan(want) & ~np.isnan(got)  # as in the grader: NaN must stay NaN ("no data")
    if number.any():
        return (
            f"your result has a number in {int(number.sum())} of {got.size} places "
            "where NaN was expected"
        )
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = diff > atol + rtol * np.abs(want.astype(np.float64))
    if bad.any():
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
        return (
            f"{int(bad.sum())} of {got.size} values differ from the expected ones; the "
            f"largest difference is {float(diff.max()):.3g} at index {where}"
        )
    return None


def _equal_problem(value: Any, expected: Any) -> str | None:
    """Why ``value`` is not exactly ``expected`` (None: it is)."""
    got, want = _as_array(value), _as_array(expected)
    if got.shape != want.shape:
        return f"expected shape {tuple(want.shape)}, got {tuple(got.shape)}"
    if got.dtype.kind != want.dtype.kind:
        return f"expected dtype kind {want.dtype}, got {got.dtype}"
    if not np.array_equal(got, want):
        return differing_entries(got, want)
    return None


def named_mistake(label: str) -> str:
    """How the notebook and the grader name a common mistake the learner's value is."""
    return f"That is exactly what {label} gives"


def _diagnosed(problem: str, matches: Callable[[Any], bool], mistakes: dict | None) -> str:
    """``problem``, naming the common mistake whose result the learner's value is, if any."""
    for label, wrong in (mistakes or {}).items():
        if matches(wrong):
            return f"{problem}. {named_mistake(label)}"
    return problem


def close(
    name: str,
    value: Any,
    expected: Any = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str | None = None,
    mistakes: dict[str, Any] | None = None,
) -> None:
    """Check ``value`` is a tensor/array of ``expected``'s shape and close to it elementwise.

    ``mistakes`` maps a common mistake (``"forgetting to divide by sqrt(d)"``) to the value it
    would give, from :mod:`course_lib.common_mistakes` (never inline: it would show the answer):
    a wrong value that is one of them is named as that mistake, and then the fixed ``hint`` is
    not shown (it might point elsewhere)."""
    if RECORDER is not None:
        params = {"atol": atol, "rtol": rtol, "hint": hint}
        if mistakes:
            params["mistakes"] = mistakes
        return RECORDER.record("close", name, value, params)
    _answer_guard(name)
    problem = _close_problem(value, expected, atol, rtol)
    if problem:
        diagnosis = _diagnosed(
            problem, lambda wrong: _close_problem(value, wrong, atol, rtol) is None, mistakes
        )
        _fail(name, diagnosis, hint if diagnosis == problem else None)
    _passed(name)


def equal(
    name: str,
    value: Any,
    expected: Any = None,
    hint: str | None = None,
    mistakes: dict[str, Any] | None = None,
) -> None:
    """Check ``value`` equals ``expected`` exactly (ints, bools, strings, integer tensors);
    ``mistakes`` as for :func:`close`."""
    if RECORDER is not None:
        params = {"hint": hint, **({"mistakes": mistakes} if mistakes else {})}
        return RECORDER.record("equal", name, value, params)
    _answer_guard(name)
    problem = _equal_problem(value, expected)
    if problem:
        diagnosis = _diagnosed(
            problem, lambda wrong: _equal_problem(value, wrong) is None, mistakes
        )
        _fail(name, diagnosis, hint if diagnosis == problem else None)
    _passed(name)


def shape(name: str, value: Any, expected: tuple = (), hint: str | None = None) -> None:
    """Check ``value`` is a tensor of shape ``expected``."""
    if RECORDER is not None:
        return RECORDER.record("shape", name, value, {"hint": hint})
    _answer_guard(name)
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
        return RECORDER.record("raises", name, list(outcome), {"hint": hint})
    _answer_guard(name)
    if outcome[0] != exception.__name__:
        got = outcome[0] if outcome[0] == "no exception" else f"{outcome[0]}: {message}"
        _fail(name, f"expected {exception.__name__} to be raised, got {got}", hint)
    if not outcome[1]:
        _fail(name, f"the error message {message!r} should mention {match!r}", hint)
    _passed(name)


# --------------------------------------------------------------- what the grader will take

#: The names the exercise's set-up cell defined (imports, constants): an answer may use them.
#: Filled once, after the cell that first imported this module has run (an IPython hook).
SETUP_NAMES: set[str] | None = None


def _remember_setup_names() -> None:
    """After the cell that imports ``check`` (each exercise's set-up cell), note its names."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def snapshot(result: object = None) -> None:
        global SETUP_NAMES
        SETUP_NAMES = {name for name in shell.user_ns if not name.startswith("_")}
        shell.events.unregister("post_run_cell", snapshot)

    shell.events.register("post_run_cell", snapshot)


_remember_setup_names()


def _code_objects(obj: Any) -> list:
    """Every code object of a function, or of the functions of a class, nested ones included."""
    roots = []
    if isinstance(obj, type):
        for value in vars(obj).values():
            value = getattr(value, "__func__", value)  # staticmethod, classmethod
            if hasattr(value, "__code__"):
                roots.append(value.__code__)
    elif hasattr(obj, "__code__"):
        roots.append(obj.__code__)
    codes = []
    while roots:
        code = roots.pop()
        codes.append(code)
        roots += [c for c in code.co_consts if hasattr(c, "co_code")]
    return codes


def _global_names(codes: list) -> set[str]:
    import dis

    return {
        ins.argval
        for code in codes
        for ins in dis.get_instructions(code)
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")
    }


def _cell_bindings(filename: str) -> set[str] | None:
    """The names a cell binds at its top level, from its source (``None`` if unknown)."""
    import ast
    import linecache

    source = "".join(linecache.getlines(filename))
    if not source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _resolve(dotted: str) -> Any:
    import importlib

    owner, _, attr = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(owner), attr)
    except ImportError:  # a method: module.Class.method
        module, _, cls = owner.rpartition(".")
        return getattr(getattr(importlib.import_module(module), cls), attr)


class ForbiddenReference(RuntimeError):
    """The learner's answer called the course's reference for the function under test."""


def forbidden_call(dotted: str) -> str:
    """What the notebook and the grader say when an answer calls a forbidden reference."""
    return (
        f"{dotted} is the reference for this exercise: the grader does not accept an answer "
        "that calls it; write the computation yourself"
    )


def replace_everywhere(dotted: str, make: Callable[[Any], Any]) -> None:
    """Replace the object ``dotted`` names (``course_lib.core.masks.masked_softmax``, or a
    method such as ``torch.Tensor.softmax``) by ``make(original)``: on its owner, and wherever
    an imported module holds the same object (``from .masks import masked_softmax``), so a
    direct call, an alias or a later import all reach the replacement."""
    import importlib
    import sys

    owner_name, attr = dotted.rsplit(".", 1)
    try:
        owner = importlib.import_module(owner_name)
    except ImportError:  # a class attribute such as torch.Tensor.softmax
        module_name, cls_name = owner_name.rsplit(".", 1)
        owner = getattr(importlib.import_module(module_name), cls_name)
    original = getattr(owner, attr)
    replacement = make(original)
    setattr(owner, attr, replacement)
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", {})
        for key, value in list(namespace.items()):
            if value is original:
                setattr(module, key, replacement)


#: Files of the answer cells whose code may not call a forbidden reference (in a notebook,
#: set by :func:`answer_cell`; calls from any other cell reach the reference as usual).
_ANSWER_FILES: set[str] = set()


def _guard_references(answers: list, forbidden: tuple[str, ...] | list[str]) -> None:
    """In a notebook (and under ``nbgrader autograde``), make each ``forbidden`` reference
    raise :class:`ForbiddenReference` when it is called while the answer's code runs, however
    the answer reached it (an alias, ``importlib``, ``getattr``), as the grader's run does.
    Test cells, hidden tests and the course's modules still call the real reference."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:  # a script or a test suite: nothing to guard
        return
    import sys

    _ANSWER_FILES.update(code.co_filename for one in answers for code in _code_objects(one))
    for dotted in forbidden:
        try:
            if getattr(_resolve(dotted), "__course_guarded__", False):
                continue
        except (ImportError, AttributeError):
            continue

        def guard(original: Any, dotted: str = dotted) -> Callable:
            def guarded(*args: Any, **kwargs: Any) -> Any:
                frame = sys._getframe(1)
                while frame is not None:
                    if frame.f_code.co_filename in _ANSWER_FILES:
                        raise ForbiddenReference(forbidden_call(dotted))
                    frame = frame.f_back
                return original(*args, **kwargs)

            guarded.__course_guarded__ = True
            guarded.__wrapped__ = original
            guarded.__name__ = getattr(original, "__name__", dotted.rsplit(".", 1)[1])
            guarded.__doc__ = getattr(original, "__doc__", None)
            return guarded

        replace_everywhere(dotted, guard)


def _answers(answer: Any) -> tuple[list, dict]:
    """The learner's function(s) or class(es) as a list, and the namespace they were defined
    in (a class's is that of its methods)."""
    answers = list(answer) if isinstance(answer, (list, tuple)) else [answer]
    functions = [answers[-1]]
    if not hasattr(answers[-1], "__globals__"):
        functions = list(vars(answers[-1]).values()) if isinstance(answers[-1], type) else []
    namespace = next((f.__globals__ for f in functions if hasattr(f, "__globals__")), {})
    return answers, namespace


def answer_problems(answer: Any, forbidden: tuple[str, ...] | list[str] = ()) -> list[str]:
    """What the grader would hold against ``answer`` (the learner's function or class, or a
    list of them when an exercise has several answer cells), as sentences: names it uses that
    its answer cells do not define (the grader runs only the answer cells, after the exercise's
    set-up cell), and calls of a ``forbidden`` reference."""
    import builtins
    import types

    answers, namespace = _answers(answer)
    codes, cells = [], set()
    for one in answers:
        mine = _code_objects(one)
        if not mine:
            return [f"expected your function or class, got {_describe(one)}"]
        codes += mine
        cells.add(mine[0].co_filename)
    bindings = [_cell_bindings(cell) for cell in cells]
    own = None if any(b is None for b in bindings) else set().union(*bindings)
    used = _global_names(codes)
    attributes = {name for code in codes for name in code.co_names}
    problems = []
    for name in sorted(used):
        if name in namespace:
            value = namespace[name]
            if own is not None:
                defined_here = name in own
            else:
                code = getattr(value, "__code__", None)
                defined_here = getattr(code, "co_filename", None) in cells
            if SETUP_NAMES is not None:
                in_setup = name in SETUP_NAMES
            else:  # no IPython: anything but a helper from another cell is fine
                in_setup = not (
                    callable(value) and getattr(value, "__module__", None) == "__main__"
                )
            if not (defined_here or in_setup):
                problems.append(
                    f"`{name}` is defined in another cell: the grader runs only your answer "
                    "cells, so it will not exist there; move it into the answer cell"
                )
        elif not hasattr(builtins, name):
            problems.append(
                f"`{name}` is not defined in your answer cells (the grader runs only them, "
                "after the set-up cell); define it in the answer cell"
            )
    for dotted in forbidden:
        try:
            reference = _resolve(dotted)
        except (ImportError, AttributeError):
            continue
        owner_name, _, attr = dotted.rpartition(".")
        for name in used & namespace.keys():
            value = namespace[name]
            direct = value is reference or (
                getattr(reference, "__course_guarded__", False) and value is reference.__wrapped__
            )
            via_module = (
                isinstance(value, types.ModuleType)
                and value.__name__ == owner_name
                and attr in attributes
            )
            if direct or via_module:
                problems.append(
                    f"it calls `{dotted}`, the reference for this exercise: the grader does "
                    "not accept that; write the computation yourself"
                )
                break
    return problems


#: The answer the notebook's checks stand guard over: its names, their namespace, the
#: forbidden references (set by :func:`answer_cell`; notebooks only).
_ANSWER: tuple[list[str], dict, tuple[str, ...]] | None = None


def _answer_guard(name: str) -> None:
    """Fail every later check too while the answer would not run under the grader (as the
    grader's own run of that test would fail), re-checking the answer as it is defined now."""
    if _ANSWER is None:
        return
    names, namespace, forbidden = _ANSWER
    current = [namespace.get(n) for n in names]
    if any(c is None for c in current):
        return
    problems = answer_problems(current, forbidden)
    if problems:
        _fail(name, "; ".join(problems) + " (the grader fails this test too)", None)


def answer_cell(
    name: str, answer: Any, forbidden: tuple[str, ...] | list[str] = (), hint: str | None = None
) -> None:
    """Check that ``answer`` will run under the grader as it does here: it uses only what its
    own answer cell and the exercise's set-up cell define, and calls no ``forbidden``
    reference (the grader takes only the answer cells from a notebook)."""
    global _ANSWER
    problems = answer_problems(answer, forbidden)
    if RECORDER is not None:
        return RECORDER.record("answer", name, problems, {"hint": hint})
    answers, namespace = _answers(answer)
    _ANSWER = ([a.__name__ for a in answers], namespace, tuple(forbidden))
    _guard_references(answers, forbidden)
    if problems:
        _fail(name, "; ".join(problems), hint)
    _passed(name)
