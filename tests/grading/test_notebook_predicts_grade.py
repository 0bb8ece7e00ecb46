"""The notebook's own checks predict the grade: what ``course-grade`` holds against an answer,
the learner sees first in the open notebook, with a message that names the cause.

Each case is a submission run twice: top to bottom in a real kernel (as the learner runs it)
and by the grader. A test cell that fails in the notebook fails in the grader, and the other
way round, and both messages name the same cause."""

import json

import pytest

from tests.grading.diagnoses import same_verdicts
from tests.grading.helpers import submission

HELPER_CELL = """
def zero_nan(x):
    return torch.nan_to_num(x, nan=0.0)
"""
USES_HELPER = """
def masked_softmax(scores, mask):
    return zero_nan(torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1))
"""
CALLS_REFERENCE = """
from course_lib.core.masks import masked_softmax as library_version

def masked_softmax(scores, mask):
    return library_version(scores, mask)
"""
SELF_CONTAINED = """
def zero_nan(x):
    return torch.nan_to_num(x, nan=0.0)

def masked_softmax(scores, mask):
    return zero_nan(torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1))
"""


def with_helper_cell(nb: dict) -> None:
    """A learner's extra cell with a helper, just above the answer cell."""
    at = next(
        i
        for i, c in enumerate(nb["cells"])
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    )
    nb["cells"].insert(
        at, {"cell_type": "code", "id": "learner-helper", "metadata": {}, "source": HELPER_CELL,
             "outputs": [],
             "execution_count": None},
    )  # fmt: skip


CASES = {
    "helper in another cell": (USES_HELPER, with_helper_cell, "zero_nan"),
    "calls the reference": (CALLS_REFERENCE, None, "course_lib.core.masks.masked_softmax"),
    "helper in the answer cell": (SELF_CONTAINED, with_helper_cell, None),
}


@pytest.mark.parametrize("case", CASES)
def test_notebook_and_grader_agree_and_name_the_cause(grader, tmp_path, case):
    answer, edit, cause = CASES[case]
    path = submission(tmp_path, "01_masked_softmax", {"masked_softmax_answer": answer}, edit=edit)
    in_notebook, graded = same_verdicts(grader, path)
    if cause is None:
        assert all(v is None for v in in_notebook.values())
        return
    first = next(iter(in_notebook))
    assert cause in in_notebook[first] and cause in graded[first]["message"]
    assert graded[first]["points"] == 0


def test_every_exercise_checks_its_answer_cells_first():
    from tests.grading.helpers import SOLUTIONS, load

    for path in SOLUTIONS:
        nb = load(path)
        forbidden = nb["metadata"]["course"]["forbidden"]
        pending = False
        for cell in nb["cells"]:
            grade = cell.get("metadata", {}).get("nbgrader", {})
            if grade.get("solution"):
                pending = True
            elif grade.get("grade") and pending:
                source = "".join(cell["source"])
                if nb["metadata"]["course"].get("kind") == "predict":  # a value, not code:
                    assert source.startswith(("predict.number(", "predict.choice(")), (
                        path.stem,  # its form is checked first, with a message naming the problem
                        grade["grade_id"],
                    )
                    pending = False
                    continue
                assert source.startswith("check.answer_cell("), (path.stem, grade["grade_id"])
                call = source.split(")\n", 1)[0]
                assert all(json.dumps(name) in call for name in forbidden), path.stem
                pending = False
