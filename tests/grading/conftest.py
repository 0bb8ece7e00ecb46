import pytest

from course_lib.grading import Grader, Limits
from tests.grading.helpers import COURSE_DIR


@pytest.fixture(scope="session")
def grader() -> Grader:
    """One grader for the session, so each solution's reference run happens once."""
    with Grader(COURSE_DIR, Limits(timeout=60, memory_mb=4096)) as grader:
        yield grader
