import copy
import json
from pathlib import Path

import pytest

from course_lib.grading import Grader, Limits

COURSE_DIR = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((COURSE_DIR / "solutions").glob("*.ipynb"))
EXERCISES = sorted((COURSE_DIR / "exercises").glob("*.ipynb"))


@pytest.fixture
def one_thread():
    """Torch on one thread during a test: tests of many tiny tensor ops run much faster so,
    above all on a busy machine. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def grader() -> Grader:
    """One grader for the session, so each solution's reference run happens once."""
    with Grader(COURSE_DIR, Limits(timeout=60, memory_mb=4096)) as grader:
        yield grader


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
