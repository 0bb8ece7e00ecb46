"""Shared by the grader's tests (and the exercise-pipeline tests): the course's notebooks and
a way to write a learner's submission."""

import copy
import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient

COURSE_DIR = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((COURSE_DIR / "solutions").glob("*.ipynb"))
EXERCISES = sorted((COURSE_DIR / "exercises").glob("*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def submission(
    tmp_path: Path,
    exercise: str,
    answers: dict[str, str] | None = None,
    edit=None,
    name: str | None = None,
) -> Path:
    """Write a submission: the exercise notebook with ``answers`` (grade_id -> source) filled
    in; ``edit(nb)`` may tamper with the notebook further."""
    nb = copy.deepcopy(load(COURSE_DIR / "exercises" / f"{exercise}.ipynb"))
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if answers and grade_id in answers:
            cell["source"] = answers[grade_id]
    if edit:
        edit(nb)
    path = tmp_path / f"{name or exercise}.ipynb"
    path.write_text(json.dumps(nb))
    return path


def notebook_verdicts(path) -> dict[str, str | None]:
    """grade_id of each test cell -> the error it showed when run in a kernel (None: passed)."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, kernel_name="attention-course", allow_errors=True, timeout=120,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()  # fmt: skip
    verdicts = {}
    for cell in nb.cells:
        grade = cell.get("metadata", {}).get("nbgrader", {})
        if grade.get("grade"):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            verdicts[grade["grade_id"]] = (
                f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else None
            )
    return verdicts
