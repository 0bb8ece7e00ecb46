"""A learner who passes every exercise can still run every lesson: each lesson that uses
``course_lib.mine`` is executed with a ``my_work/`` folder of passing answers (the solutions),
and must finish without an error, running *those* answers wherever it offers them.

``make test`` also runs every lesson as shipped (nbval, the course's functions); this runs the
other path, where the learner's functions — often written for other shapes than the course's,
e.g. one image instead of a batch — are what the lesson calls.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

COURSE_DIR = Path(__file__).resolve().parents[1]
LESSONS = [
    path
    for path in sorted((COURSE_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if re.search(r"course_lib\.mine|mine\.using", path.read_text())
]
CHOICE = re.compile(r"^(\w+): (yours|the course's) \((.*)\)$", re.M)


@pytest.fixture(scope="module")
def my_work(tmp_path_factory) -> Path:
    """A my_work/ folder holding every exercise's solution as if the learner had written it."""
    folder = tmp_path_factory.mktemp("my_work")
    for path in (COURSE_DIR / "solutions").glob("[0-9][0-9]_*.ipynb"):
        shutil.copy(path, folder / path.name)
    return folder


def outputs(nb) -> str:
    return "\n".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


def test_every_lesson_using_mine_is_checked():
    names = {path.stem[:2] for path in LESSONS}
    assert {"02", "03", "04", "05", "06", "07"} <= names


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_lesson_runs_with_the_learners_passing_answers(path, my_work, monkeypatch):
    monkeypatch.setenv("COURSE_MY_WORK", str(my_work))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, kernel_name="attention-course", timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()  # fmt: skip  # raises CellExecutionError, naming the cell, if any cell fails
    choices = CHOICE.findall(outputs(nb))
    assert choices, f"{path.stem} printed no choice of implementation"
    not_yours = [f"{name}: {why}" for name, who, why in choices if who != "yours"]
    assert not not_yours, f"{path.stem} ran the course's function for a passing answer: {not_yours}"
    remembered = json.loads((my_work / ".mine-grades.json").read_text())
    assert all(grade["status"] == "graded" for grade in remembered.values())
