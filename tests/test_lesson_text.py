"""What a learner reads in a lesson: no development leftovers, and one place for the numbers."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

COURSE_DIR = Path(__file__).resolve().parents[1]
LESSONS = sorted((COURSE_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Text that belongs to the course's development, not to a lesson: targets the course set
# itself, placeholders, notes to the developers, the history of earlier checkpoints.
LEFTOVERS = re.compile(
    r"placeholder|not trained!|\bTODO\b|\bFIXME\b|\bXXX\b"
    r"|\btarget\s*(<=|>=|≤|≥)|\b(a|the) target of \d|\b(meets|BELOW) the target"
    r"|earlier (checkpoints?|versions?)\b",
    re.IGNORECASE,
)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def learner_text(notebook: dict) -> list[tuple[int, str]]:
    """(cell index, text) for every source and every text output a learner sees."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        found.append((index, "".join(cell["source"])))
        for output in cell.get("outputs", []):
            if "text" in output:
                found.append((index, "".join(output["text"])))
            for kind in ("text/plain", "text/markdown", "text/html"):
                if kind in output.get("data", {}):
                    found.append((index, "".join(output["data"][kind])))
    return found


def record_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record"
    ]


def is_metric_only(source: str) -> bool:
    """A code cell whose every statement is a record()/measured.append(record()) call."""
    tree = ast.parse(source)
    return bool(tree.body) and all(
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and record_calls(s)
        for s in tree.body
    )


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_no_development_leftovers(path):
    hits = [
        f"cell {index}: ...{text[max(m.start() - 40, 0) : m.end() + 40]}..."
        for index, text in learner_text(load(path))
        for m in LEFTOVERS.finditer(text)
    ]
    assert not hits, "development text a learner would read:\n" + "\n".join(hits)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_numbers_are_shown_together_in_the_last_cell(path):
    sources = code_sources(path)
    metric_only = [s for s in sources if is_metric_only(s)]
    assert not metric_only, f"cells that only record a number: {metric_only}"
    assert sources[-1].split("#")[0].strip() == "measured", "the last cell shows `measured`"
    for source in sources:
        for call in record_calls(ast.parse(source)):
            line = source.splitlines()[call.lineno - 1]
            assert "measured.append(record(" in line, f"a record() outside measured: {line}"


def test_the_leftover_check_has_teeth():
    bad = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["x"],
                "outputs": [{"output_type": "stream", "text": ["ratio 0.70, target <= 0.7\n"]}],
            }
        ]
    }
    assert any(LEFTOVERS.search(text) for _, text in learner_text(bad))
    assert not LEFTOVERS.search("the target digits of the caption")
    assert is_metric_only('measured.append(record("a", 1.0))')
    assert not is_metric_only('x = 1\nmeasured.append(record("a", x))')


def code_sources(path: Path) -> list[str]:
    """The source of each code cell of the notebook at ``path``."""
    return ["".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "code"]


def imported_names(source: str, module: str) -> set[str]:
    return {
        alias.asname or alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module == module
        for alias in node.names
    }


@pytest.mark.parametrize("path", [p for p in LESSONS if p.stem[:2] >= "02"], ids=lambda p: p.stem)
def test_later_lessons_run_the_learners_own_answers(path):
    """An exercise answer a lesson calls comes from course_lib.mine (the learner's if it passes),
    never straight from the library — lesson 01 introduces masked_softmax before its exercise."""
    from course_lib.mine import offered

    sources = code_sources(path)
    from_mine = set().union(*(imported_names(s, "course_lib.mine") for s in sources))
    for name, (_, dotted) in offered().items():
        module, _, course_name = dotted.rpartition(".")
        direct = set().union(*(imported_names(s, module) for s in sources))
        assert course_name not in direct, f"{path.stem} imports {course_name} from {module}"
        used = any(re.search(rf"\b{name}\(", s) for s in sources)
        if used and course_name != name:  # a stand-in: from mine, or the course's wrapper calls it
            assert name in from_mine or any(
                re.search(rf'mine\.using\([^)]*"{name}"', s) for s in sources
            ), f"{path.stem} calls {name} without mine.using({name!r}) or importing it from mine"
        elif used and name != "masked_softmax":  # masked_softmax runs inside attention
            assert name in from_mine, f"{path.stem} calls {name} without importing it from mine"


def test_every_exercise_answer_on_offer_runs_in_some_lesson():
    """Each answer ``course_lib.mine`` can swap in is run by a lesson: imported from mine or
    named in a ``mine.using(...)`` — an exercise whose work no lesson uses breaks deliver 1."""
    from course_lib.mine import offered

    run: set[str] = set()
    for path in LESSONS:
        for source in code_sources(path):
            run |= imported_names(source, "course_lib.mine")
            for call in re.findall(r"mine\.using\(([^)]*)\)", source):
                run |= set(re.findall(r'"(\w+)"', call))
    missing = sorted(set(offered()) - run)
    assert not missing, f"no lesson runs the learner's {missing}"
