"""Grade one submission against its exercise's instructor notebook."""

from __future__ import annotations

import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..check import named_mistake
from .compare import compare
from .notebook import (
    Cell,
    InvalidNotebook,
    Submitted,
    assigned_names,
    build_program,
    cell_source,
    forbidden_names,
    load_notebook,
    normalized,
    solution_cells,
    submitted_answers,
    syntax_error,
    used_names,
)
from .sandbox import Limits, RunOutcome, Zygote, isolation, run_program

COURSE_DIR = Path(__file__).resolve().parents[2]


class GraderError(RuntimeError):
    """The course itself is broken (a solution does not run); not the learner's fault."""


@dataclass(frozen=True)
class Exercise:
    id: str
    cells: list[Cell]
    forbidden: list[str]
    given: frozenset[str] = frozenset()  # normalized sources of the exercise's code cells

    @property
    def answer_ids(self) -> set[str]:
        return {c.grade_id for c in self.cells if c.kind == "answer"}

    @property
    def tests(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "test"]

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)


def exercise_ids(course_dir: Path = COURSE_DIR) -> list[str]:
    """The exercises learners can submit: ``exercises/<ID>.ipynb``."""
    return sorted(p.stem for p in (course_dir / "exercises").glob("*.ipynb"))


def exercise_for(path: Path, course_dir: Path = COURSE_DIR) -> str | None:
    """The exercise a submission answers, from its file name only.

    ``01_masked_softmax.ipynb`` -> ``01_masked_softmax``; a copy such as
    ``01_masked_softmax-Copy1.ipynb`` or ``01_masked_softmax (2).ipynb`` maps to the
    longest exercise id its name starts with.
    """
    known = exercise_ids(course_dir)
    if path.stem in known:
        return path.stem
    prefixes = [e for e in known if path.stem.startswith(e) and path.stem[len(e)] in " -_("]
    return max(prefixes, key=len) if prefixes else None


class Grader:
    """Grades submissions; runs each exercise's solution once to get the reference values."""

    def __init__(
        self,
        course_dir: Path = COURSE_DIR,
        limits: Limits | None = None,
        hide: list[Path] = (),
        mode: str | None = None,
    ) -> None:
        """``hide``: more folders the learner's code must not see (e.g. the submissions);
        ``mode``: force ``"process"`` isolation (default: the best that works here)."""
        self.course_dir = course_dir
        self.limits = limits or Limits()
        self.isolation = mode or isolation(str(course_dir / "solutions"))
        protected = [course_dir, Path(__file__).parents[1]]
        self.hide = [str(course_dir / name) for name in ("solutions", "tests", ".git")] + [
            str(p.resolve())
            for p in hide
            if not any(_contains(p.resolve(), q.resolve()) for q in protected)
        ]
        self._zygote_state: Zygote | bool | None = None
        self._slots: queue.Queue[int] = queue.Queue()
        for slot in range(max(64, 2 * (os.cpu_count() or 1))):
            self._slots.put(slot)
        self._exercises: dict[str, Exercise] = {}
        self._references: dict[str, RunOutcome] = {}
        self._lock = threading.Lock()
        self._exercise_locks: dict[str, threading.Lock] = {}

    def exercise(self, exercise_id: str) -> Exercise:
        with self._lock:
            if exercise_id not in self._exercises:
                nb = load_notebook(self.course_dir / "solutions" / f"{exercise_id}.ipynb")
                handed_out = self.course_dir / "exercises" / f"{exercise_id}.ipynb"
                given = frozenset(
                    normalized(cell_source(c))
                    for c in (load_notebook(handed_out)["cells"] if handed_out.is_file() else [])
                    if c.get("cell_type") == "code"
                )
                self._exercises[exercise_id] = Exercise(
                    exercise_id, solution_cells(nb), forbidden_names(nb), given
                )
            return self._exercises[exercise_id]

    def reference(self, exercise: Exercise) -> RunOutcome:
        """The solution's own recorded values (computed once per grader, never cached on disk)."""
        with self._lock:
            lock = self._exercise_locks.setdefault(exercise.id, threading.Lock())
        with lock:
            if exercise.id not in self._references:
                limits = Limits(max(self.limits.timeout, 120.0), max(self.limits.memory_mb, 4096))
                outcome = self._run(build_program(exercise.cells, None, exercise.forbidden), limits)
                missing = [
                    t.grade_id
                    for t in exercise.tests
                    if not any(cell == t.grade_id for cell, _ in outcome.records)
                ]
                if outcome.status != "graded" or outcome.errors or missing:
                    raise GraderError(
                        f"solution {exercise.id} does not run cleanly: status {outcome.status}, "
                        f"errors {outcome.errors}, tests recording nothing {missing}\n"
                        f"{outcome.output[-2000:]}"
                    )
                self._references[exercise.id] = outcome
            return self._references[exercise.id]

    def grade(self, path: Path, exercise_id: str | None = None) -> dict:
        """The verdict for one submission, as the JSON object of the grader contract."""
        start = time.monotonic()
        exercise_id = exercise_id or exercise_for(path, self.course_dir)
        result = {
            "submission": str(path),
            "exercise": exercise_id,
            "status": "invalid",
            "score": 0.0,
            "max_score": 0.0,
            "tests": [],
            "seconds": 0.0,
            "detail": "",
            "flags": [],
            "isolation": self.isolation,
        }
        if exercise_id is None or exercise_id not in exercise_ids(self.course_dir):
            result["detail"] = (
                f"no exercise matches the file name {path.name!r}; expected one of "
                f"{', '.join(exercise_ids(self.course_dir))} (or use --exercise)"
            )
            return self._finish(result, start)
        exercise = self.exercise(exercise_id)
        result["max_score"] = exercise.max_score
        try:
            submission = load_notebook(path)
        except InvalidNotebook as error:
            result["tests"] = [_test(t, False, f"not graded: {error}") for t in exercise.tests]
            result["detail"] = str(error)
            return self._finish(result, start)
        reference = self.reference(exercise)
        start = time.monotonic()  # the one-off reference run is not this submission's time
        answer_cells = [c for c in exercise.cells if c.kind == "answer"]
        found = submitted_answers(submission, answer_cells, exercise.given)
        program = build_program(exercise.cells, found.answers, exercise.forbidden)
        outcome = self._run(program, self.limits)
        result["status"], result["detail"] = outcome.status, outcome.detail
        notes = [result["detail"]] if result["detail"] else []
        if found.recovered:
            notes.append(
                f"answer cell {', '.join(found.recovered)} found by the names it defines "
                "(its nbgrader metadata was missing)"
            )
        missing = sorted(exercise.answer_ids - found.answers.keys())
        if missing:
            notes.append(
                f"no answer cell with grade_id {', '.join(missing)} (was its metadata removed?)"
            )
        flags = submission_flags(found, outcome.errors)
        result["flags"] = flags
        result["detail"] = "; ".join(notes + [f["message"] for f in flags])
        broken = {f["answer"]: f for f in flags if f["kind"] in ("syntax_error", "answer_error")}
        owners = {
            name: cell.grade_id
            for cell in exercise.cells
            if cell.kind == "answer"
            for name in assigned_names(cell.source)
        }
        for test in exercise.tests:
            result["tests"].append(_verdict(test, reference, outcome, broken, owners))
        result["score"] = sum(t["points"] for t in result["tests"])
        return self._finish(result, start)

    def _zygote(self) -> Zygote | None:
        """The warm forking process, started on first use (``COURSE_GRADE_ZYGOTE=0``: none)."""
        with self._lock:
            if self._zygote_state is None and os.environ.get("COURSE_GRADE_ZYGOTE") != "0":
                try:
                    self._zygote_state = Zygote(self.isolation)
                except OSError:
                    self._zygote_state = False  # start a fresh interpreter per run instead
            return self._zygote_state or None

    def _run(self, program: dict, limits: Limits) -> RunOutcome:
        slot = self._slots.get()  # a uid of its own for each run going on at once
        try:
            zygote = self._zygote()
            if zygote is not None:
                try:
                    return run_program(program, limits, self.isolation, slot, self.hide, zygote)
                except OSError:  # the warm process died (e.g. with the thread that started it)
                    with self._lock:
                        if self._zygote_state is zygote:
                            self._zygote_state = None  # start a new one next time
            return run_program(program, limits, self.isolation, slot, self.hide)
        finally:
            self._slots.put(slot)

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the warm forking process (also stopped when the grader's process exits)."""
        with self._lock:
            if self._zygote_state:
                self._zygote_state.close()
            self._zygote_state = None

    @staticmethod
    def _finish(result: dict, start: float) -> dict:
        result["seconds"] = round(time.monotonic() - start, 2)
        return result


def _contains(folder: Path, path: Path) -> bool:
    return path == folder or folder in path.parents


def _diagnosis(kind: str, params: dict, mine: dict) -> str | None:
    """The common mistake (recorded by the solution's run) whose value the learner's is, as
    the notebook words it; ``None`` if none is."""
    for label, wrong in (params.get("mistakes") or {}).items():
        try:
            if compare(kind, params, mine.get("value"), wrong) is None:
                return named_mistake(label)
        except ValueError:  # a mistake's value the solution could not record
            continue
    return None


def _cells(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def submission_flags(found: Submitted, errors: dict[str, str]) -> list[dict]:
    """What the learner must know about how their notebook was read, in notebook order:
    duplicated answer cells, answer cells that are not valid Python or raised, and cells the
    grader did not run. Each flag: ``kind``, ``message`` and where (``cells``, ``line``)."""
    flags = []
    for grade_id, numbers in found.duplicates.items():
        flags.append(
            {
                "kind": "duplicate_answer_cell",
                "answer": grade_id,
                "cells": numbers,
                "message": f"duplicated answer cell: {len(numbers)} cells (cells "
                f"{_cells(numbers)} of the notebook) carry the answer cell id `{grade_id}`, "
                f"e.g. after a copy-paste; the grader graded the last one, cell {numbers[-1]}, "
                "and ignored the others. Delete the copies you do not mean",
            }
        )
    for grade_id, source in sorted(found.answers.items(), key=lambda a: found.cell_numbers[a[0]]):
        number, invalid = found.cell_numbers[grade_id], syntax_error(source)
        if invalid:
            line, message = invalid
            where = f"cell {number} of the notebook" + (f", line {line}" if line else "")
            flags.append(
                {
                    "kind": "syntax_error",
                    "answer": grade_id,
                    "cells": [number],
                    "line": line,
                    "message": f"{message} in your answer cell `{grade_id}` ({where}): the cell "
                    "is not valid Python, so it did not run and defined nothing; every test "
                    "that uses it fails",
                }
            )
        elif grade_id in errors:
            flags.append(
                {
                    "kind": "answer_error",
                    "answer": grade_id,
                    "cells": [number],
                    "message": f"your answer cell `{grade_id}` (cell {number} of the notebook) "
                    f"raised {errors[grade_id]}; the code after that point in the cell did "
                    "not run",
                }
            )
    if found.extra:
        numbers = [n for n, _ in found.extra]
        defined = set().union(*(names for _, names in found.extra))
        needed = sorted(defined & set().union(*map(used_names, found.answers.values())))
        what = f"; they define {', '.join(f'`{n}`' for n in sorted(defined))}" if defined else ""
        if needed:
            effect = (
                f". Your answer uses {', '.join(f'`{n}`' for n in needed)}, which is not "
                "defined where the grader runs it: move it into the answer cell"
            )
        else:
            effect = ". Your answer does not use anything they define, so this costs nothing"
        flags.append(
            {
                "kind": "extra_cells",
                "cells": numbers,
                "names": sorted(defined),
                "message": f"extra cells not graded: the grader runs only the answer cells "
                f"(after the exercise's own set-up cell), not the {len(numbers)} code "
                f"cell{'s' if len(numbers) > 1 else ''} you added or changed (cell"
                f"{'s' if len(numbers) > 1 else ''} {_cells(numbers)} of the notebook){what}"
                + effect,
            }
        )
    return flags


def _answer_cause(why: str, broken: dict, owners: dict[str, str]) -> str:
    """The cause of a check that recorded nothing, when an answer cell failed: its
    ``SyntaxError`` or error, rather than the ``NameError`` it led to in the test cell."""
    missing = re.match(r"NameError: name '(\w+)' is not defined", why)
    owner = owners.get(missing[1]) if missing else None
    flag = broken.get(owner) if owner else None
    if flag is None and (missing or len(broken) == 1):
        flag = next(iter(broken.values()), None)
    if flag is None:
        return why
    if flag["kind"] == "syntax_error":
        line = f" at line {flag['line']}" if flag.get("line") else ""
        return f"your answer cell `{flag['answer']}` has a SyntaxError{line}, so it did not run"
    error = flag["message"].split(" raised ", 1)[-1].split("; the code after")[0]
    if missing:
        return (
            f"`{missing[1]}` is not defined: your answer cell `{flag['answer']}` raised {error} "
            "before defining it"
        )
    return f"{why}; your answer cell `{flag['answer']}` raised {error}"


def _verdict(
    test: Cell, reference: RunOutcome, outcome: RunOutcome, broken: dict, owners: dict[str, str]
) -> dict:
    """One test's result: every check of it as the notebook shows it (``✘ name: problem``,
    then ``Hint: ...``), and the test's message made of its failed checks."""
    checks, hints, diagnosed = [], [], False
    for (cell, name), ref in reference.records.items():
        if cell != test.grade_id:
            continue
        mine = outcome.records.get((cell, name))
        if mine is None:
            why = outcome.errors.get(cell) or outcome.detail or "the check did not run"
            if broken:  # the answer cell's own error, not the NameError it causes
                why = _answer_cause(why, broken, owners)
            checks.append(
                {"name": name, "passed": False, "problem": f"no value was checked ({why})"}
            )
            hints.append(None)
            continue
        params = ref.get("params") or {}
        problem = compare(ref["kind"], params, mine.get("value"), ref["value"])
        if problem:
            named = _diagnosis(ref["kind"], params, mine)
            diagnosed = diagnosed or named is not None
            problem += f". {named}" if named else ""
            hints.append(params.get("hint"))  # the course's, never the learner's
        checks.append({"name": name, "passed": problem is None, "problem": problem})
    failed = [c for c in checks if not c["passed"]]
    for check, hint in zip(failed, hints, strict=True):
        check["hint"] = None if diagnosed else hint  # a fixed hint only where nothing was named
    lines = [
        f"\u2718 {c['name']}: {c['problem']}" + (f"\nHint: {c['hint']}" if c["hint"] else "")
        for c in failed
    ]
    result = _test(test, not failed, "\n".join(lines)[:1000] or "passed")
    result["checks"] = checks
    return result


def _test(test: Cell, passed: bool, message: str) -> dict:
    return {
        "name": test.grade_id,
        "title": test.title or test.grade_id,
        "points": test.points if passed else 0.0,
        "max_points": test.points,
        "passed": passed,
        "message": message,
    }
