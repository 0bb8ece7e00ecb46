"""Shared by the per-lesson diagnosis tests: feed an exercise a common mistake (those the
instructor notes list), run it in a real kernel and through the grader, and check that both
fail the same tests and that both name the mistake (not a fixed hint that may point elsewhere).
"""

from dataclasses import dataclass

from tests.grading.helpers import notebook_verdicts, submission


@dataclass(frozen=True)
class Mistake:
    """``answer`` (the source of answer cell ``answer_id``) makes ``mistake``; test cell
    ``test_id`` must fail with a message containing ``names``, in the notebook and the grader.
    ``hidden_only``: test cells whose visible checks pass but whose hidden tests fail (the
    notebook cannot see the mistake there; the grader does)."""

    exercise: str
    answer_id: str
    answer: str
    test_id: str
    names: str
    hidden_only: tuple[str, ...] = ()


def same_verdicts(grader, path, hidden_only: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Run submission ``path`` in a kernel and through the grader; check that each test cell
    fails in both or in neither (``hidden_only`` cells pass in the notebook and fail in the
    grader). Returns (grade_id -> the notebook's error or None, grade_id -> the grader's test)."""
    in_notebook = notebook_verdicts(path)
    graded = {t["name"]: t for t in grader.grade(path)["tests"]}
    assert set(in_notebook) == set(graded)
    for test_id, shown in in_notebook.items():
        passes = shown is None and test_id not in hidden_only
        assert passes == graded[test_id]["passed"], (test_id, shown, graded[test_id])
        assert shown is None or test_id not in hidden_only, (test_id, shown)
    return in_notebook, graded


def check_diagnosis(grader, tmp_path, case: Mistake) -> None:
    path = submission(tmp_path, case.exercise, {case.answer_id: case.answer})
    in_notebook, graded = same_verdicts(grader, path, case.hidden_only)
    shown, message = in_notebook[case.test_id], graded[case.test_id]["message"]
    assert shown is not None and case.names in shown, (case.names, shown)
    assert case.names in message, (case.names, message)
    assert "Hint:" not in message  # a diagnosis replaces the fixed hint
