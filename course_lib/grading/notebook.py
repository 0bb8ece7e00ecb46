"""Reading notebooks as plain JSON and building the program the grader runs.

The program for a submission is the instructor's solution notebook with each answer cell
replaced by the learner's cell of the same ``grade_id``; every other cell, test cells and
their hidden parts included, comes from the solution.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
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
    title: str = ""  # a test's readable name, from the exercise's "**Test N** — ..." line


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
    """The code cells of an instructor notebook, classified by their nbgrader metadata; each
    test cell gets its readable title (see ``test_title``)."""
    cells, heading, shared = [], "", {}
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            heading = cell_source(cell)
            continue
        if cell.get("cell_type") != "code":
            continue
        meta = _nbgrader(cell)
        if meta.get("solution"):
            cells.append(Cell("answer", meta["grade_id"], cell_source(cell)))
        elif meta.get("grade"):
            points = float(meta.get("points", 0))
            source = cell_source(cell)
            cells.append(Cell("test", meta["grade_id"], source, points, heading))
            shared[heading] = shared.get(heading, 0) + 1
        else:
            cells.append(Cell("code", None, cell_source(cell)))
    return [
        Cell(
            c.kind,
            c.grade_id,
            c.source,
            c.points,
            test_title(c.title, c.source, c.grade_id, shared[c.title] > 1),
        )
        if c.kind == "test"
        else c
        for c in cells
    ]


_LABEL = re.compile(r"^\*\*((?:Test|Prediction)\b[^*]*?)\.?\*\*\s*(?:[—:-]\s*)?(.*)$", re.S)
_CHECK_NAME = re.compile(r"\b(check|predict)\.(\w+)\(\s*(?:\"([^\"\n]+)\"|'([^'\n]+)')")


_TEX = {"times": "×", "pm": "±", "ne": "≠", "neq": "≠", "le": "≤", "leq": "≤", "ge": "≥",
        "geq": "≥", "sqrt": "√", "top": "ᵀ", "cdot": "·", "sum": "∑", "phi": "φ", "mu": "μ",
        "sigma": "σ", "theta": "θ", "nabla": "∇", "infty": "∞", "approx": "≈", "to": "→",
        "mathbb": "", "mathcal": "", "mathrm": "", "operatorname": "", "text": "", "left": "",
        "right": ""}  # fmt: skip


def _plain(markdown: str) -> str:
    """Markdown as one line of plain text (no emphasis or code ticks, ``$`` math as text)."""

    def math(match: re.Match) -> str:
        text = re.sub(r"\\([a-zA-Z]+)", lambda m: _TEX.get(m[1], m[1]), match[1])
        text = text.replace("\\,", " ").replace("\\", "")
        return re.sub(r"[{}]", "", text)

    text = re.sub(r"\$\$?([^$]+)\$\$?", math, markdown)
    return " ".join(re.sub(r"[*`]", "", text).split())


def _short(text: str, limit: int = 110) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def test_title(heading: str, source: str, grade_id: str, shared: bool = False) -> str:
    """A test's readable name: its "**Test N** — what it checks" line (the last paragraph of
    the markdown cell above it), or, where one heading covers several test cells (a
    prediction graded in steps), the heading's label and the name of the cell's first check.
    Falls back to the first check's name, then to the ``grade_id``."""
    paragraphs = [p.strip() for p in heading.split("\n\n") if p.strip()]
    label = next((_LABEL.match(p) for p in reversed(paragraphs) if _LABEL.match(p)), None)
    names = [(m[1], m[2], m[3] or m[4]) for m in _CHECK_NAME.finditer(source)]
    checks = [n for kind, fn, n in names if kind == "check" and fn != "answer_cell"]
    first = (checks or [n for kind, _, n in names if kind == "predict"] or [""])[0]
    if label is None:
        return _short(first) if first else grade_id
    head, rest = _plain(label[1]), _plain(label[2])
    if shared and first:
        return _short(f"{head} — {first}")
    return _short(f"{head} — {rest}" if rest else head)


def defined_names(source: str) -> set[str]:
    """Top-level functions and classes a cell defines (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def normalized(source: str) -> str:
    """A cell's source with trailing spaces and blank edges dropped, for comparing cells."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def assigned_names(source: str) -> set[str]:
    """Every top-level name a cell binds: functions, classes, assignments and imports."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def used_names(source: str) -> set[str]:
    """Every name a cell reads (in any function it defines too)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


@dataclass
class Submitted:
    """What the grader takes from a submission, and what it found worth telling the learner.

    Cell numbers count every cell of the notebook from the top, markdown included (1-based).
    """

    answers: dict[str, str] = field(default_factory=dict)  # grade_id -> the graded source
    cell_numbers: dict[str, int] = field(default_factory=dict)  # grade_id -> graded cell
    recovered: list[str] = field(default_factory=list)  # found by the names they define
    duplicates: dict[str, list[int]] = field(default_factory=dict)  # grade_id -> every copy
    extra: list[tuple[int, set[str]]] = field(default_factory=list)  # added/changed cells


def submitted_answers(
    nb: dict, answer_cells: list[Cell], given: frozenset[str] = frozenset()
) -> Submitted:
    """The learner's source for each answer cell, and what else the notebook holds.

    An answer cell is found by its nbgrader ``grade_id``. **Several cells with the same
    ``grade_id``** (copy-paste in JupyterLab copies the metadata): the *last* one in notebook
    order is graded (run top to bottom, the notebook too ends with its definitions), and all
    copies are listed in ``duplicates``. If no cell has the id (an editor stripped the
    metadata), the last code cell without nbgrader metadata that defines every function/class
    the solution's answer cell defines is taken instead (listed in ``recovered``).

    ``given``: the ``normalized`` sources of the exercise's own code cells; any other
    non-empty code cell that is not an answer cell is one the learner added or changed. The
    grader does not run it; it is listed in ``extra`` with the names it binds.
    """
    found = Submitted()
    code = [
        (number, c)
        for number, c in enumerate(nb["cells"], 1)
        if isinstance(c, dict) and c.get("cell_type") == "code"
    ]
    ids = {cell.grade_id for cell in answer_cells}
    for number, cell in code:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in ids:
            found.answers[grade_id] = cell_source(cell)
            found.cell_numbers[grade_id] = number
            found.duplicates.setdefault(grade_id, []).append(number)
    found.duplicates = {k: v for k, v in found.duplicates.items() if len(v) > 1}
    for answer in answer_cells:
        names = defined_names(answer.source)
        if answer.grade_id in found.answers or not names:
            continue
        matches = [
            (n, c) for n, c in code if not _nbgrader(c) and names <= defined_names(cell_source(c))
        ]
        if matches:
            number, cell = matches[-1]
            found.answers[answer.grade_id] = cell_source(cell)
            found.cell_numbers[answer.grade_id] = number
            found.recovered.append(answer.grade_id)
    taken = set(found.cell_numbers.values())
    known = {c.grade_id for c in answer_cells} | {None}
    for number, cell in code:
        source = normalized(cell_source(cell))
        if number in taken or not source or source in given:
            continue
        meta = _nbgrader(cell)
        if meta.get("grade_id") in known - {None} or (meta.get("grade") and meta.get("locked")):
            continue  # a copy of an answer cell (listed above) or of a test cell (replaced)
        found.extra.append((number, assigned_names(source)))
    return found


def syntax_error(source: str) -> tuple[int | None, str] | None:
    """``(line, message)`` if an answer cell is not valid Python as IPython would run it
    (magics such as ``%timeit`` allowed), else ``None``. Nothing is executed."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - any input IPython cannot transform: compile it as is
        code = source
    try:
        compile(code, "<answer cell>", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError as error:
        kind = "" if type(error) is SyntaxError else f" ({type(error).__name__})"
        return error.lineno, f"SyntaxError: {error.msg}{kind}"
    except ValueError as error:  # e.g. null bytes
        return None, f"SyntaxError: {error}"
    return None


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
