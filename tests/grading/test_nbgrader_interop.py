"""nbgrader's own tools accept solutions/: a teacher who uses nbgrader can import the course."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.grading.helpers import SOLUTIONS, load

LESSONS = sorted({p.name[:2] for p in SOLUTIONS})


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nbgrader_course")
    (root / "nbgrader_config.py").write_text(
        "from course_lib.grading.nbgrader_support import configure\n"
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root}/gradebook.db'\n"
        "configure(c)\n"
    )
    for path in SOLUTIONS:
        folder = root / "source" / f"lesson{path.name[:2]}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder)
    return root


@pytest.mark.parametrize("lesson", LESSONS)
def test_nbgrader_generate_assignment_accepts_solutions(course, lesson):
    done = nbgrader(course, "generate_assignment", f"lesson{lesson}", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    for path in (p for p in SOLUTIONS if p.name.startswith(lesson)):
        released = course / "release" / f"lesson{lesson}" / path.name
        text = released.read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text
        grades = {
            c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"].get("points")
            for c in json.loads(text)["cells"]
            if "nbgrader" in c["metadata"]
        }
        ours = {
            c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"].get("points")
            for c in load(path)["cells"]
            if "nbgrader" in c["metadata"]
        }
        assert grades == ours


def test_nbgrader_validate_passes_a_solution(course):
    path = next(course.glob("source/lesson01/01_masked_softmax.ipynb"))
    done = nbgrader(course, "validate", str(path))
    assert "Success! Your notebook passes all the tests." in done.stdout + done.stderr


#: Ways to call the forbidden reference of 01_masked_softmax that reading the answer's code
#: alone does not see; the grader's run refuses each, and so must nbgrader's.
SNEAKY = {
    "dotted": "import course_lib.core.masks\n\ndef masked_softmax(scores, mask):\n"
    "    return course_lib.core.masks.masked_softmax(scores, mask)\n",
    "importlib": "import importlib\n\ndef masked_softmax(scores, mask):\n"
    "    return importlib.import_module('course_lib.core.masks').masked_softmax(scores, mask)\n",
    "getattr": "import course_lib.core.masks as m\n\ndef masked_softmax(scores, mask):\n"
    "    return getattr(m, 'masked_' + 'softmax')(scores, mask)\n",
}
#: Right for the visible tests' 3-D scores only: the hidden 4-D test fails.
WRONG = (
    "def masked_softmax(scores, mask):\n"
    "    filled = scores.masked_fill(~mask, float('-inf'))\n"
    "    return torch.nan_to_num(torch.softmax(filled, dim=2), nan=0.0)\n"
)
REFUSED = "course_lib.core.masks.masked_softmax is the reference for this exercise"


@pytest.fixture(scope="module")
def autograded(course) -> Path:
    """lesson01 released, one student per sneaky call and one wrong answer, autograded and
    with feedback generated."""
    assert nbgrader(course, "generate_assignment", "lesson01", "--force").returncode == 0
    released = load(course / "release" / "lesson01" / "01_masked_softmax.ipynb")
    for student, source in {**SNEAKY, "wrong": WRONG}.items():
        nb = json.loads(json.dumps(released))
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("solution"):
                cell["source"] = source
        folder = course / "submitted" / student / "lesson01"
        folder.mkdir(parents=True)
        (folder / "01_masked_softmax.ipynb").write_text(json.dumps(nb))
        (folder / "timestamp.txt").write_text("2025-01-01 00:00:00")
        assert nbgrader(course, "db", "student", "add", student).returncode == 0
    done = nbgrader(course, "autograde", "lesson01", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    done = nbgrader(course, "generate_feedback", "lesson01", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    return course


def autograded_errors(course: Path, student: str) -> dict[str, str | None]:
    nb = load(course / "autograded" / student / "lesson01" / "01_masked_softmax.ipynb")
    verdicts = {}
    for cell in nb["cells"]:
        grade = cell["metadata"].get("nbgrader", {})
        if grade.get("grade"):
            errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
            verdicts[grade["grade_id"]] = errors[0]["evalue"] if errors else None
    return verdicts


@pytest.mark.parametrize("student", SNEAKY)
def test_forbidden_reference_scores_zero_under_nbgrader_and_course_grade(
    autograded, grader, student
):
    """nbgrader gives a grade cell its points when it runs without an error: every one
    fails here, naming the reference, as every test fails under course-grade."""
    in_nbgrader = autograded_errors(autograded, student)
    assert in_nbgrader and all(e and REFUSED in e for e in in_nbgrader.values()), in_nbgrader
    path = autograded / "submitted" / student / "lesson01" / "01_masked_softmax.ipynb"
    graded = grader.grade(path, "01_masked_softmax")
    assert graded["score"] == 0
    assert all(REFUSED in t["message"] for t in graded["tests"])


def test_nbgrader_feedback_hides_hidden_tests_but_keeps_the_messages(autograded):
    errors = autograded_errors(autograded, "wrong")
    assert errors["masked_padding"] is None and errors["masked_empty_row"] is None
    assert "hidden: local window mask" in errors["masked_causal"]  # a hidden check failed
    page = (autograded / "feedback" / "wrong" / "lesson01" / "01_masked_softmax.html").read_text()
    assert "HIDDEN TESTS" not in page and "hidden tests: not shown" in page
    assert "local_window_mask" not in page and "reference(scores" not in page  # hidden code
    assert "hidden: local window mask, 4-D scores" in page  # the failed check's message
