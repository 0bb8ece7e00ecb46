"""Gradebook and feedback rendering (no grading needed)."""

import csv
import zipfile

from course_lib.grading.report import (
    best_by_student,
    counted_attempts,
    details_path,
    feedback_html,
    write_feedback,
    write_gradebook,
)


def result(student, exercise, score, status="graded", message="values differ"):
    return {
        "student": student,
        "submission": f"/s/{student}/{exercise}.ipynb",
        "exercise": exercise,
        "status": status,
        "score": score,
        "max_score": 5.0,
        "seconds": 1.0,
        "detail": "",
        "tests": [
            {
                "name": "t1",
                "points": score,
                "max_points": 5.0,
                "passed": score == 5,
                "message": message,
            }
        ],
    }


def test_best_submission_counts_and_nothing_is_lost(tmp_path):
    results = [
        result("ada", "ex", 2.0),
        result("ada", "ex", 5.0),
        result("bob", "ex", 0.0, "timeout"),
    ]
    assert best_by_student(results)["ada"]["ex"]["score"] == 5.0
    write_gradebook(results, tmp_path / "g.csv")
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "g.csv").open())}
    assert rows["ada"]["ex"] == "5.0" and rows["ada"]["submissions"] == "2"
    assert rows["bob"]["problems"] == "ex: timeout"
    assert details_path(tmp_path / "g.csv").name == "g_tests.csv"


def test_feedback_escapes_learner_text():
    page = feedback_html("<ada>", [result("<ada>", "ex", 0.0, message="<img src=x onerror=1>")])
    assert "<img" not in page and "&lt;img src=x onerror=1&gt;" in page
    assert "Feedback for &lt;ada&gt;" in page


def test_feedback_total_at_top_and_which_attempt_counts():
    results = [
        result("ada", "ex", 2.0),
        result("ada", "ex", 5.0),
        result("ada", "other", 3.0),
    ]
    results[1]["submission"] = "/s/ada/ex-Copy1.ipynb"
    page = feedback_html("ada", results)
    total = page.index("Total: <b>8 / 10</b>")
    assert total < page.index("<h2")  # at the top, before any exercise
    assert "<code>ex-Copy1.ipynb</code>: the highest score (5) of your 2 submissions" in page
    assert "your only submission of this exercise" in page
    assert "Another submission (does not count): <code>ex.ipynb</code>, 2 / 5" in page


def test_ties_count_the_first_and_say_so():
    results = [result("ada", "ex", 3.0), result("ada", "ex", 3.0)]
    results[1]["submission"] = "/s/ada/ex (2).ipynb"
    (chosen, why) = counted_attempts(results)["ada"]["ex"]
    assert chosen is results[0] and "2 of them scored that, the first" in why


def test_feedback_shows_titles_checks_and_hints_as_the_notebook_does():
    r = result("ada", "ex", 0.0)
    r["tests"][0] |= {
        "title": "Test 1 — padding: two sequences",
        "checks": [
            {"name": "shape", "passed": True, "problem": None},
            {"name": "values", "passed": False, "problem": "1 of 4 values differ",
             "hint": "Give masked positions -inf."},
        ],
    }  # fmt: skip
    page = feedback_html("ada", [r])
    assert "<td>Test 1 — padding: two sequences</td>" in page and "<td>t1</td>" not in page
    assert "\u2714 shape" in page
    assert "\u2718 values: 1 of 4 values differ</span>\n<span class='hint'>Hint: Give" in page


def test_feedback_files_per_student_and_for_moodle(tmp_path):
    results = [result("ada", "ex", 5.0), result("Bo Li_17", "ex", 1.0)]
    results[1]["lms"] = {"layout": "moodle", "id": "17", "name": "Bo Li"}
    pages = write_feedback(results, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in pages) == [
        "Bo_Li_17/index.html",
        "ada/index.html",
    ]
    with zipfile.ZipFile(tmp_path / "ada.zip") as archive:
        assert archive.namelist() == ["ada/index.html"]
        assert archive.read("ada/index.html").decode() == pages[1].read_text()
    with zipfile.ZipFile(tmp_path / "moodle_feedback.zip") as archive:
        assert archive.namelist() == ["Bo Li_17_assignsubmission_file_/feedback.html"]


def test_grader_feedback_matches_the_notebooks_hint_and_diagnosis(grader, tmp_path):
    """The page shows a failed check's line and its Hint: line as the notebook prints them,
    and a named mistake without the fixed hint."""
    from tests.grading.diagnoses import same_verdicts
    from tests.grading.helpers import submission

    no_guard = """def masked_softmax(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
"""
    path = submission(tmp_path, "01_masked_softmax", {"masked_softmax_answer": no_guard})
    in_notebook, graded = same_verdicts(grader, path)
    shown = in_notebook["masked_empty_row"]  # "CheckFailed: ✘ all-masked row is zeros: ..."
    assert "That is exactly what no guard for a fully masked row" in shown
    page = feedback_html("ada", [{"student": "ada", **grader.grade(path)}])
    first_line = shown.split(": ", 1)[1].split(". That is")[0]
    assert first_line.split(":")[0] in page  # "✘ all-masked row is zeros"
    assert "That is exactly what no guard for a fully masked row" in page
    assert "Test 3 — a query whose keys are all masked gets zeros, not nan." in page
    hinted = graded["masked_causal"]  # a wrong answer there, no named mistake: the hint
    assert hinted["passed"] or "Hint:" in hinted["message"]
