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
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root}/gradebook.db'\n"
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
