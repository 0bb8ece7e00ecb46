"""Your own implementations, where you wrote them: a lesson that imports from here runs *your*
passing answer to an exercise, and the course's function otherwise — and says which.

    from course_lib.mine import masked_softmax      # yours if my_work/01_masked_softmax passes

    with mine.using("masked_softmax"):               # yours everywhere the course calls it
        model(x)                                     # (e.g. inside multi-head attention)

Your answer is used only if the grader gives your notebook full marks (``course-grade``, run
once per saved version of the file and remembered in ``my_work/.mine-grades.json``). The
functions offered are the exercises' answers that have a course function of the same name
and arguments, or one the exercise names as the answer's stand-in (:func:`offered`). Your
notebooks are read from ``my_work/`` (``make lab`` copies the exercises there) or from the
folder in ``$COURSE_MY_WORK``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, wraps
from pathlib import Path

from course_lib.check import _resolve as resolve_reference  # one resolver for both

COURSE_DIR = Path(__file__).resolve().parents[1]
ENV_VAR = "COURSE_MY_WORK"
CACHE_FILE = ".mine-grades.json"
GRADE_TIMEOUT_S = 300


@dataclass(frozen=True)
class Implementation:
    """Which function runs for ``name``: the learner's (``yours``) or the course's, and why."""

    name: str
    exercise: str
    function: Callable
    yours: bool
    why: str
    calls: dict[str, int] = field(default_factory=lambda: {"yours": 0, "course": 0}, compare=False)

    def __str__(self) -> str:
        who = "yours" if self.yours else "the course's"
        return f"{self.name}: {who} ({self.why})"

    def _repr_markdown_(self) -> str:
        who = "**yours**" if self.yours else "the course's"
        return f"`{self.name}`: {who} — {self.why}"


def my_work() -> Path:
    """The folder of the learner's notebooks: ``$COURSE_MY_WORK`` or the course's ``my_work/``."""
    return Path(os.environ.get(ENV_VAR) or COURSE_DIR / "my_work")


def _resolve(dotted: str) -> Callable | None:
    """``course_lib.a.b.name`` -> the object (``check``'s resolver), or None if it is not there."""
    try:
        return resolve_reference(dotted)
    except (ImportError, AttributeError):
        return None


def _parameters(function: Callable) -> list[str]:
    return list(inspect.signature(function).parameters)


def _fits(learner: Callable, course: Callable) -> bool:
    """The course function takes the learner's parameters first, and defaults for the rest."""
    theirs = _parameters(learner)
    params = list(inspect.signature(course).parameters.values())
    if [p.name for p in params[: len(theirs)]] != theirs:
        return False
    return all(p.default is not inspect.Parameter.empty for p in params[len(theirs) :])


@cache
def offered() -> dict[str, tuple[str, str]]:
    """``name -> (exercise id, the course function's dotted path)`` for every exercise answer
    that has a course function of the same name (or the stand-in its exercise declares,
    :func:`stand_in_names`) taking the answer's parameters first (and defaults for any more)."""
    from course_lib.grading.notebook import (  # the grader's own reading of an exercise
        defined_names,
        forbidden_names,
        load_notebook,
        solution_cells,
    )

    found: dict[str, tuple[str, str]] = {}
    for path in sorted((COURSE_DIR / "solutions").glob("[0-9][0-9]_*.ipynb")):
        nb = load_notebook(path)
        answers = [cell for cell in solution_cells(nb) if cell.kind == "answer"]
        stand_ins = stand_in_names(nb)
        namespace: dict = {}
        for cell in answers:
            names = defined_names(cell.source)
            for dotted in forbidden_names(nb):
                same = dotted.rpartition(".")[2]
                named = [n for n, d in stand_ins.items() if d == dotted] or [same]
                for name in named:
                    if name not in names or not dotted.startswith("course_lib."):
                        continue
                    course = _resolve(dotted)
                    if course is None or not callable(course):
                        continue
                    if not namespace:
                        namespace = _solution_namespace(nb)
                    if _fits(namespace[name], course):
                        found[name] = (path.stem, dotted)
    return found


def per_example_names(nb: dict) -> frozenset[str]:
    """Answers an exercise asks for on **one** example (notebook metadata
    ``course.per_example``) where the course's function takes a batch: e.g. the exercise's
    ``bilinear_sample(image (C, H, W), grid (H_out, W_out, 2))`` against the course's
    ``(batch, C, H, W)``. A lesson runs such an answer once per example (:func:`per_example`)."""
    return frozenset(_course_metadata(nb).get("per_example", []))


def per_example(function: Callable, name: str) -> Callable:
    """``function`` written for one example, called with a batch: every tensor argument is
    split along its first dimension, ``function`` runs on each example, the results are stacked
    (gradients flow through). Tensor arguments with different batch sizes are refused."""
    import torch

    @wraps(function)
    def over_batch(*args, **kwargs):
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        sizes = {len(t) if t.dim() else None for t in tensors}
        if len(sizes) != 1 or None in sizes:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(
                f"{name}: a batched call needs every tensor argument to share its first "
                f"(batch) dimension, got shapes {shapes}"
            )

        def pick(value, i):
            return value[i] if isinstance(value, torch.Tensor) else value

        results = [
            function(*(pick(a, i) for a in args), **{k: pick(v, i) for k, v in kwargs.items()})
            for i in range(sizes.pop())
        ]
        return torch.stack(results)  # (batch, ...)

    return over_batch


def stand_in_names(nb: dict) -> dict[str, str]:
    """An exercise's declared stand-ins (notebook metadata ``course.stand_ins``): answer name ->
    the forbidden course function it replaces when the names differ (e.g. the exercise's
    ``integrated_gradients(f, x, baseline, steps)`` runs as the course's
    ``path_integrated_gradients``)."""
    return dict(_course_metadata(nb).get("stand_ins", {}))


def _course_metadata(nb: dict) -> dict:
    """The course's own notebook metadata (``metadata.course``), empty if there is none."""
    return nb.get("metadata", {}).get("course", {})


@cache
def answer_references() -> frozenset[str]:
    """Every course function or class an exercise forbids: showing its code gives an answer."""
    from course_lib.grading.notebook import forbidden_names, load_notebook

    found: set[str] = set()
    for path in (COURSE_DIR / "solutions").glob("[0-9][0-9]_*.ipynb"):
        found.update(forbidden_names(load_notebook(path)))
    return frozenset(found)


def _solution_namespace(nb: dict, answers: dict[str, str] | None = None) -> dict:
    """Run an exercise's set-up and answer cells in order, skipping its tests (``answers``:
    grade_id -> the learner's source; the solution's own if ``None``); return the names they
    define."""
    from course_lib.grading.notebook import solution_cells

    namespace: dict = {"__name__": "__exercise__"}
    for cell in solution_cells(nb):
        if cell.kind == "test":
            continue  # the tests check the answers; they define nothing the lesson needs
        if cell.kind == "code":
            exec(compile(cell.source, "<exercise set-up>", "exec"), namespace)
        else:
            source = cell.source if answers is None else answers.get(cell.grade_id, "")
            exec(compile(source, f"<your answer: {cell.grade_id}>", "exec"), namespace)
    return namespace


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grade(path: Path) -> dict:
    """The grader's result for the learner's notebook ``path`` (``course-grade --json``),
    remembered per file content in ``my_work/.mine-grades.json``."""
    cache_file = path.parent / CACHE_FILE
    try:
        remembered = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        remembered = {}
    key = f"{path.name}:{_digest(path)}"
    if key in remembered:
        return remembered[key]
    command = [sys.executable, "-m", "course_lib.grading", str(path), "--json"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=COURSE_DIR, timeout=GRADE_TIMEOUT_S
    )
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = {"status": "error", "score": 0.0, "max_score": 1.0, "detail": done.stderr[-300:]}
    remembered = {k: v for k, v in remembered.items() if not k.startswith(f"{path.name}:")}
    remembered[key] = {k: result.get(k) for k in ("status", "score", "max_score", "detail")}
    try:
        cache_file.write_text(json.dumps(remembered, indent=1))
    except OSError:
        pass  # a read-only folder: grade again next time
    return remembered[key]


def implementation(name: str, folder: Path | str | None = None) -> Implementation:
    """The function a lesson should run for ``name``: the learner's answer in ``folder``
    (default :func:`my_work`) if the grader gives it full marks, else the course's."""
    table = offered()
    if name not in table:
        known = ", ".join(sorted(table))
        raise AttributeError(f"name: no exercise answer called {name!r} to use; one of {known}")
    exercise, dotted = table[name]
    course = _resolve(dotted)
    folder = Path(folder) if folder is not None else my_work()
    path = folder / f"{exercise}.ipynb"
    shown = f"my_work/{path.name}" if folder == COURSE_DIR / "my_work" else str(path)

    def theirs(why: str) -> Implementation:
        return Implementation(name, exercise, course, False, why)

    if not path.exists():
        return theirs(f"no {shown} yet: exercise {exercise} is where you write it")
    result = grade(path)
    score, most = result.get("score") or 0.0, result.get("max_score") or 0.0
    if result.get("status") != "graded" or score < most:
        return theirs(
            f"{shown} scores {score:g}/{most:g} ({result.get('status')}); "
            f"run `course-grade {shown}` to see why"
        )
    from course_lib.grading.notebook import load_notebook, solution_cells, submitted_answers

    solution = load_notebook(COURSE_DIR / "solutions" / f"{exercise}.ipynb")
    answers = submitted_answers(
        load_notebook(path), [c for c in solution_cells(solution) if c.kind == "answer"]
    ).answers
    try:
        function = _solution_namespace(solution, answers)[name]
    except Exception as error:  # the grader ran it, so this is rare: say so and go on
        return theirs(f"{shown} passes the grader but did not load here ({error!r})")
    why = f"{shown} passes the grader, {score:g}/{most:g}"
    if name in per_example_names(solution):
        function, why = per_example(function, name), f"{why}; run on each example of a batch"
    return Implementation(name, exercise, function, True, why)


def __getattr__(name: str) -> Callable:
    """``from course_lib.mine import masked_softmax``: the implementation to run, announced."""
    if name.startswith("__"):
        raise AttributeError(name)
    chosen = implementation(name)
    print(chosen)
    return chosen.function


def _dispatcher(choice: Implementation, course: Callable) -> Callable:
    """Calls the learner's function (if ``choice.yours``) with what it takes, and the course's
    otherwise or for a call that passes more (e.g. ``dim=`` to ``masked_softmax``) or ``None``
    for an argument the learner's requires (e.g. no mask at all); counts both in
    ``choice.calls``."""
    params = inspect.signature(choice.function).parameters
    theirs = list(params)
    required = {name for name, p in params.items() if p.default is inspect.Parameter.empty}

    def fits(args: tuple, kwargs: dict) -> bool:
        if len(args) > len(theirs) or not set(kwargs) <= set(theirs[len(args) :]):
            return False
        given = {**dict(zip(theirs, args, strict=False)), **kwargs}
        return not any(given.get(name, 0) is None for name in required)

    @wraps(course)
    def call(*args, **kwargs):
        if choice.yours and fits(args, kwargs):
            choice.calls["yours"] += 1
            return choice.function(*args, **kwargs)
        choice.calls["course"] += 1
        return course(*args, **kwargs)

    return call


@contextmanager
def using(*names: str, folder: Path | str | None = None) -> Iterator[list[Implementation]]:
    """Within the block, every ``course_lib`` module that refers to one of ``names`` calls the
    chosen implementation instead (the learner's, where it passes); restored on exit. Yields
    the choices; each one's ``calls`` counts the calls that ran yours and the course's."""
    chosen = [implementation(name, folder) for name in names]
    swaps: list[tuple[types.ModuleType, str, Callable]] = []
    try:
        for choice in chosen:
            print(choice)
            course = _resolve(offered()[choice.name][1])
            swapped = _dispatcher(choice, course)
            for module in list(sys.modules.values()):
                if not getattr(module, "__name__", "").startswith("course_lib"):
                    continue
                for attr, value in list(vars(module).items()):
                    if value is course:
                        swaps.append((module, attr, value))
                        setattr(module, attr, swapped)
        yield chosen
    finally:
        for module, attr, value in reversed(swaps):
            setattr(module, attr, value)
