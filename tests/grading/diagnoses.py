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


def check_diagnosis(grader, tmp_path, case: Mistake) -> None:
    path = submission(tmp_path, case.exercise, {case.answer_id: case.answer})
    in_notebook = notebook_verdicts(path)
    graded = {t["name"]: t for t in grader.grade(path)["tests"]}
    for test_id, shown in in_notebook.items():  # the same verdict per test (bar hidden_only)
        passes = shown is None and test_id not in case.hidden_only
        assert passes == graded[test_id]["passed"], (test_id, shown, graded[test_id])
        assert shown is None or test_id not in case.hidden_only, (test_id, shown)
    shown, message = in_notebook[case.test_id], graded[case.test_id]["message"]
    assert shown is not None and case.names in shown, (case.names, shown)
    assert case.names in message, (case.names, message)
    assert "Hint:" not in message  # a diagnosis replaces the fixed hint
