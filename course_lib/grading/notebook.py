"""Reading notebooks as plain JSON and building the program the grader runs.

The program for a submission is the instructor's solution notebook with each answer cell
replaced by the learner's cell of the same ``grade_id``; every other cell, test cells and
their hidden parts included, comes from the solution.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from ..check import EXPECTED_ARG, REFERENCE_KWARGS


class InvalidNotebook(ValueError):
    """The file is not a notebook the grader can read; the message says why."""


@dataclass(frozen=True)
class Cell:
    kind: str  # "answer", "test" or "code"
    grade_id: str | None
    source: str
    points: float = 0.0


def load_notebook(path: Path) -> dict:
    """Parse ``path`` as an nbformat-4 notebook (plain JSON, no nbformat import)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise InvalidNotebook(f"cannot read file: {error.strerror}") from None
    if not raw.strip():
        raise InvalidNotebook("the file is empty")
    try:
        nb = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidNotebook(f"not valid JSON ({error})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidNotebook("not a Jupyter notebook: no list of 'cells'")
    if nb.get("nbformat") != 4:
        raise InvalidNotebook(f"expected nbformat 4, got nbformat {nb.get('nbformat')!r}")
    return nb


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    grader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return grader if isinstance(grader, dict) else {}


def solution_cells(nb: dict) -> list[Cell]:
    """The code cells of an instructor notebook, classified by their nbgrader metadata."""
    cells = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        meta = _nbgrader(cell)
        if meta.get("solution"):
            cells.append(Cell("answer", meta["grade_id"], cell_source(cell)))
        elif meta.get("grade"):
            points = float(meta.get("points", 0))
            cells.append(Cell("test", meta["grade_id"], cell_source(cell), points))
        else:
            cells.append(Cell("code", None, cell_source(cell)))
    return cells


def defined_names(source: str) -> set[str]:
    """Top-level functions and classes a cell defines (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def submitted_answers(nb: dict, answer_cells: list[Cell]) -> tuple[dict[str, str], list[str]]:
    """The learner's source for each answer cell, and the ids found without metadata.

    A cell is found by its nbgrader ``grade_id`` (the first one wins). If no cell has it
    (an editor stripped the metadata), the last code cell without nbgrader metadata that
    defines every function/class the solution's answer cell defines is taken instead.
    """
    answers: dict[str, str] = {}
    code = [c for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
    ids = {cell.grade_id for cell in answer_cells}
    for cell in code:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in ids and grade_id not in answers:
            answers[grade_id] = cell_source(cell)
    recovered = []
    for answer in answer_cells:
        names = defined_names(answer.source)
        if answer.grade_id in answers or not names:
            continue
        matches = [c for c in code if not _nbgrader(c) and names <= defined_names(cell_source(c))]
        if matches:
            answers[answer.grade_id] = cell_source(matches[-1])
            recovered.append(answer.grade_id)
    return answers, recovered


class _StripExpected(ast.NodeTransformer):
    """Remove the ``expected`` argument (and the other ``REFERENCE_KWARGS`` not in ``keep``) of
    every ``check.<fn>(...)`` call."""

    def __init__(self, keep: tuple[str, ...] = ()) -> None:
        self.drop = set(REFERENCE_KWARGS) - set(keep)

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "check"
            and func.attr in EXPECTED_ARG
        ):
            position = EXPECTED_ARG[func.attr]
            node.args = node.args[:position]
            node.keywords = [kw for kw in node.keywords if kw.arg not in self.drop]
        return node


def strip_expected(source: str, keep: tuple[str, ...] = ()) -> str:
    """Test-cell source without the expected values (and the values of common mistakes, unless
    ``keep`` says so: the solution's own run records them), for running in a graded process."""
    tree = _StripExpected(keep).visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


def _expected_args(tree: ast.AST) -> list[ast.expr]:
    """The ``expected`` argument of every ``check.<fn>(...)`` call in ``tree``."""
    found = []
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        func = call.func
        if (
            isinstance(func.value, ast.Name)
            and func.value.id == "check"
            and func.attr in EXPECTED_ARG
        ):
            found += [kw.value for kw in call.keywords if kw.arg in REFERENCE_KWARGS]
            found += call.args[EXPECTED_ARG[func.attr] : EXPECTED_ARG[func.attr] + 1]
    return found


def names_only_expected_uses(source: str) -> set[str]:
    """Names a test cell assigns that only its ``expected=`` arguments read.

    A reference result must be computed inline in ``expected=`` (which the grader strips);
    kept in a variable, it would still be computed in the learner's process where a patched
    check helper could read it. Returns the offending names (empty for a good test cell).
    """
    tree = ast.parse(source)
    expected = _expected_args(tree)
    inside = {id(n) for e in expected for n in ast.walk(e)}
    stored = {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in inside
    }
    in_expected = {n.id for e in expected for n in ast.walk(e) if isinstance(n, ast.Name)}
    elsewhere = {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in inside
    }
    return (in_expected & stored) - elsewhere


def forbidden_names(nb: dict) -> list[str]:
    """Dotted names the exercise's answer may not call (notebook metadata ``course.forbidden``)."""
    names = nb.get("metadata", {}).get("course", {}).get("forbidden", [])
    return [str(n) for n in names]


def build_program(
    solution: list[Cell], answers: dict[str, str] | None, forbidden: list[str] = ()
) -> dict:
    """What the runner executes: answers from ``answers`` (``None`` = the solution's own),
    every other cell from the solution, test cells without their expected values, and the
    references to poison."""
    cells = []
    for cell in solution:
        source = cell.source
        if cell.kind == "answer" and answers is not None:
            source = answers.get(cell.grade_id, "")
        elif cell.kind == "test":  # the solution's run keeps the mistakes' values to record
            source = strip_expected(source, keep=("mistakes",) if answers is None else ())
        cells.append({"kind": cell.kind, "id": cell.grade_id, "source": source})
    return {"cells": cells, "forbidden": list(forbidden)}
