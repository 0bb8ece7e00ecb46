"""The Gradescope autograder zip, unpacked into a stand-in for /autograder and run."""

import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest

from course_lib.grading.gradescope import build
from tests.grading.helpers import COURSE_DIR, submission
from tests.grading.test_grader import CORRECT_MASKED, WRONG_MASKED

TEST_KEYS = {"name", "score", "max_score", "status", "output", "visibility"}
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    return build(tmp_path_factory.mktemp("gs") / "autograder.zip", COURSE_DIR, "01_masked_softmax")


def run_autograder(zip_path, root, notebook_answers, name="01_masked_softmax"):
    """Unpack the zip as Gradescope does (/autograder/source), hand in one notebook, run."""
    source = root / "source"
    source.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(source)
        for info in archive.infolist():  # extractall drops the mode; Gradescope keeps it
            mode = info.external_attr >> 16
            if mode:
                os.chmod(source / info.filename, stat.S_IMODE(mode))
    (root / "submission").mkdir()
    submission(root / "submission", "01_masked_softmax", notebook_answers, name=name)
    done = subprocess.run(
        [str(source / "run_autograder")],
        env={**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_zip_has_what_gradescope_needs_at_its_root(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        config = json.loads(archive.read("gradescope.json"))
    assert {"setup.sh", "run_autograder"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "course/solutions/01_masked_softmax.ipynb" in names
    assert "course/exercises/01_masked_softmax.ipynb" in names
    assert "course/course_lib/grading/grade.py" in names
    assert not any("__pycache__" in n for n in names)
    assert config["exercise"] == "01_masked_softmax"


def validate(report):
    assert set(report) >= {"tests", "output", "execution_time"}
    for test in report["tests"]:
        assert set(test) == TEST_KEYS
        assert test["visibility"] in VISIBILITIES
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")


def test_correct_submission_gets_full_marks(autograder_zip, tmp_path):
    report = run_autograder(
        autograder_zip,
        tmp_path / "autograder",
        {"masked_softmax_answer": CORRECT_MASKED},
        name="masked softmax (final)",  # any name: the assignment is one exercise
    )
    validate(report)
    by_name = {t["name"]: t for t in report["tests"]}
    assert set(by_name) == {
        "01_masked_softmax: masked_padding",
        "01_masked_softmax: masked_causal",
        "01_masked_softmax: masked_empty_row",
    }
    assert sum(t["score"] for t in report["tests"]) == 5.0
    assert sum(t["max_score"] for t in report["tests"]) == 5.0
    # Cells with hidden tests are shown after the deadline; the fully visible one at once.
    assert by_name["01_masked_softmax: masked_padding"]["visibility"] == "visible"
    assert by_name["01_masked_softmax: masked_causal"]["visibility"] == "after_due_date"
    assert by_name["01_masked_softmax: masked_empty_row"]["visibility"] == "after_due_date"


def test_wrong_submission_gets_zero_with_the_graders_messages(autograder_zip, tmp_path):
    report = run_autograder(
        autograder_zip, tmp_path / "autograder", {"masked_softmax_answer": WRONG_MASKED}
    )
    validate(report)
    assert sum(t["score"] for t in report["tests"]) == 0.0
    padding = next(t for t in report["tests"] if t["name"].endswith("masked_padding"))
    assert padding["status"] == "failed" and "values differ" in padding["output"]
    assert "Hint: Give masked positions a score of -inf" in padding["output"]
