"""The predict-first exercises (``NN_predict_<slug>``): one per lesson 01-07, graded by
``course-grade`` like the others. The solution scores full marks, the untouched exercise 0, a
wrong prediction 0 with a message that explains the true value, a prediction of the wrong form
0 with a message naming the problem, and a near miss gets the partial credit its bands give."""

import ast
import re

import pytest

from tests.grading.helpers import COURSE_DIR, SOLUTIONS, load, submission

PREDICT = [p.stem for p in SOLUTIONS if re.match(r"\d\d_predict_", p.stem)]
REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def answers(exercise: str) -> dict[str, tuple[str, object]]:
    """grade_id of each answer cell -> (the variable it sets, the solution's value)."""
    out = {}
    for cell in load(COURSE_DIR / "solutions" / f"{exercise}.ipynb")["cells"]:
        grade = cell.get("metadata", {}).get("nbgrader", {})
        if grade.get("solution"):
            body = REGION.search("".join(cell["source"]))[1]
            (assign,) = ast.parse(body).body
            out[grade["grade_id"]] = (assign.targets[0].id, ast.literal_eval(assign.value))
    return out


def options(exercise: str, variable: str) -> list[str]:
    """The options a choice offers, from its visible form check."""
    for cell in load(COURSE_DIR / "solutions" / f"{exercise}.ipynb")["cells"]:
        source = "".join(cell["source"])
        if source.startswith(f'predict.choice("{variable}"'):
            return ast.literal_eval(re.search(r"(\[[^\]]*\])", source)[1])
    raise AssertionError(f"{exercise}: no form check for {variable}")


def wrong(exercise: str, variable: str, value: object) -> object:
    """A prediction outside every band: another option, or ten times the value."""
    if isinstance(value, str):
        return next(o for o in options(exercise, variable) if o != value)
    return value * 10


def graded(grader, tmp_path, exercise, sources=None, folder="x"):
    (tmp_path / folder).mkdir()
    result = grader.grade(submission(tmp_path / folder, exercise, sources))
    assert result["status"] == "graded", result
    return result


def test_every_lesson_01_to_07_has_a_predict_item():
    assert sorted({e[:2] for e in PREDICT}) == [f"0{n}" for n in range(1, 8)]
    for exercise in PREDICT:
        assert (
            load(COURSE_DIR / "solutions" / f"{exercise}.ipynb")["metadata"]["course"]["kind"]
            == "predict"
        )


@pytest.mark.parametrize("exercise", PREDICT)
def test_solution_full_untouched_zero_wrong_zero_with_an_explanation(grader, tmp_path, exercise):
    right = answers(exercise)
    full = graded(
        grader, tmp_path, exercise, {g: f"{v} = {value!r}" for g, (v, value) in right.items()}, "a"
    )
    assert full["score"] == full["max_score"] > 0, full["tests"]

    untouched = graded(grader, tmp_path, exercise, None, "b")
    assert untouched["score"] == 0 and not any(t["passed"] for t in untouched["tests"])

    bad = {g: f"{v} = {wrong(exercise, v, value)!r}" for g, (v, value) in right.items()}
    missed = graded(grader, tmp_path, exercise, bad, "c")
    assert missed["score"] == 0, missed["tests"]
    for test in missed["tests"]:
        # the course's explanation (a hint) or the named reasoning of a common wrong prediction
        assert "Hint:" in test["message"] or "That is exactly what" in test["message"], test


@pytest.mark.parametrize("exercise", PREDICT)
def test_a_prediction_of_the_wrong_form_is_named(grader, tmp_path, exercise):
    right = answers(exercise)
    sources = {
        g: f"{v} = {'about three' if not isinstance(value, str) else 2!r}"
        for g, (v, value) in right.items()
    }
    result = graded(grader, tmp_path, exercise, sources)
    assert result["score"] == 0
    messages = " ".join(t["message"] for t in result["tests"])
    assert "expected a number (int or float), got str" in messages or (
        "a string, in quotes), got int 2" in messages
    )


def test_partial_credit_and_a_named_wrong_prediction(grader, tmp_path):
    """01: 60 is within a factor of 2 of sqrt(2048) = 45 but not within 10 %: 1 of 2 points;
    2048 (the variance) is named as that mistake."""
    right = answers("01_predict_sqrt_d")
    sources = {g: f"{v} = {value!r}" for g, (v, value) in right.items()}
    sources["std_unscaled_answer"] = "std_unscaled = 60"
    tests = {t["name"]: t for t in graded(grader, tmp_path, "01_predict_sqrt_d", sources)["tests"]}
    assert tests["std_unscaled_factor_2"]["passed"] and not tests["std_unscaled_close"]["passed"]
    sources["std_unscaled_answer"] = "std_unscaled = 2048"
    tests = {
        t["name"]: t for t in graded(grader, tmp_path, "01_predict_sqrt_d", sources, "y")["tests"]
    }
    assert "That is exactly what taking the variance d" in tests["std_unscaled_close"]["message"]
    assert tests["max_weight_scaled_close"]["passed"]
