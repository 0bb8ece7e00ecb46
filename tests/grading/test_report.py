"""Gradebook and feedback rendering (no grading needed)."""

import csv

from course_lib.grading.report import (
    best_by_student,
    details_path,
    feedback_html,
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
