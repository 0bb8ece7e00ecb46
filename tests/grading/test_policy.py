"""Deadlines, late penalties, the teacher's overrides and the class report."""

import csv
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib.image
import pytest

from course_lib.grading.classreport import hardest, pass_rates, summary_text, write_class_report
from course_lib.grading.lms import Submission
from course_lib.grading.policy import (
    LatePolicy,
    PolicyError,
    apply_all,
    parse_time,
    read_overrides,
)
from tests.grading.helpers import submission
from tests.grading.test_grader import CORRECT_MASKED, WRONG_MASKED, run_cli


def result(student, exercise, passed, path="x.ipynb"):
    """A graded result with tests t1 (2 points), t2 (2), t3 (1); ``passed``: their names."""
    tests = [
        {"name": n, "points": p if n in passed else 0.0, "max_points": p, "passed": n in passed}
        | {"message": "passed" if n in passed else "values differ"}
        for n, p in (("t1", 2.0), ("t2", 2.0), ("t3", 1.0))
    ]
    return {
        "student": student,
        "submission": path,
        "exercise": exercise,
        "status": "graded",
        "score": sum(t["points"] for t in tests),
        "max_score": 5.0,
        "tests": tests,
        "seconds": 0.1,
        "detail": "",
    }


def test_late_policy_counts_started_units_and_caps():
    policy = LatePolicy.parse("2025-03-01T23:59:00+00:00", "10%/day", "25%")
    deadline = policy.deadline
    assert policy.units_late(deadline) == 0
    assert policy.units_late(deadline - timedelta(hours=3)) == 0
    assert policy.units_late(deadline + timedelta(minutes=1)) == 1  # a minute late: a day
    assert policy.units_late(deadline + timedelta(days=1, seconds=1)) == 2
    assert policy.penalty(2) == pytest.approx(0.2) and policy.penalty(7) == pytest.approx(0.25)
    hourly = LatePolicy.parse("2025-03-01T12:00Z", "2%/hour", None)
    assert hourly.units_late(hourly.deadline + timedelta(minutes=150)) == 3
    assert hourly.cap == 1.0


@pytest.mark.parametrize(
    "rule, cap, message",
    [
        ("10 percent", None, "--late-penalty"),
        ("150%/day", None, "more than 100%"),
        ("10%/day", "120%", "--late-cap"),
    ],
)
def test_bad_penalty_rules_are_refused(rule, cap, message):
    with pytest.raises(PolicyError, match=message):
        LatePolicy.parse("2025-03-01T23:59", rule, cap)
    with pytest.raises(PolicyError, match="not a date"):
        parse_time("next friday")


def test_moodle_dates_and_iso_dates_parse():
    assert parse_time("2025-03-01T23:59:00Z") == datetime(2025, 3, 1, 23, 59, tzinfo=UTC)
    moodle = parse_time("Saturday, 1 March 2025, 11:00 PM")
    assert moodle.tzinfo is not None and (moodle.hour, moodle.day) == (23, 1)


def test_overrides_file_errors_name_the_line(tmp_path):
    file = tmp_path / "overrides.csv"
    file.write_text("student,exercise,points\nada,ex,3\n")
    with pytest.raises(PolicyError, match="lacks the column.*test"):
        read_overrides(file)
    file.write_text("student,exercise,test,points,reason\nada,ex,t1,2,ok\nbob,ex,t1,lots,why\n")
    with pytest.raises(PolicyError, match="line 3.*'lots'"):
        read_overrides(file)
    file.write_text("student,exercise,test,points,reason\nada,ex,t1,-1,x\n")
    with pytest.raises(PolicyError, match="line 2"):
        read_overrides(file)


def test_overrides_then_penalty_then_total_and_unmatched_reported(tmp_path):
    file = tmp_path / "overrides.csv"
    file.write_text(
        "student,exercise,test,points,reason\n"
        "ada,ex,t2,2,regraded by hand\n"  # 2 -> 4 points, before the penalty
        "bob,ex,total,4.5,medical note\n"  # final, after the penalty
        "cid,ex,t1,1,nobody of that name\n"
        "ada,ex,t9,1,no such test\n"
        "ada,ex,t3,3,more than the test is worth\n"
    )
    overrides = read_overrides(file)
    late_file, on_time_file = tmp_path / "late.ipynb", tmp_path / "ok.ipynb"
    for path, when in ((late_file, "2025-03-03T10:00:00"), (on_time_file, "2025-03-01T10:00:00")):
        path.write_text("{}")
        stamp = datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))
    results = [
        result("ada", "ex", {"t1"}, str(late_file)),
        result("bob", "ex", set(), str(on_time_file)),
    ]
    subs = {
        str(p): Submission(p, s, p.name, "ex")
        for p, s in ((late_file, "ada"), (on_time_file, "bob"))
    }
    policy = LatePolicy.parse("2025-03-01T23:59:00+00:00", "10%/day", None)
    unused = apply_all(results, subs, policy, {}, overrides)
    ada, bob = results
    assert ada["graded_score"] == 2.0
    assert [t["points"] for t in ada["tests"]] == [2.0, 2.0, 0.0]
    assert ada["late"]["source"] == "file mtime" and ada["late"]["units_late"] == 2
    assert ada["score"] == pytest.approx(4.0 * 0.8)  # override first, then 20 % off
    assert "regraded by hand" in ada["detail"] and "late by 2 days" in ada["detail"]
    assert bob["score"] == 4.5 and bob["late"]["units_late"] == 0
    assert len(unused) == 3
    assert "line 4" in unused[0] and "no submission" in unused[0]
    assert "no test 't9'" in unused[1] and "more than the test's 1" in unused[2]


def test_class_report_pass_rates_figure_and_hardest_tests(tmp_path):
    results = [
        result("ada", "ex", {"t1", "t2"}),
        result("ada", "ex", {"t1"}),  # a worse attempt: not counted
        result("bob", "ex", {"t1"}),
        result("cid", "ex", {"t1", "t3"}),
        result("dan", "ex", {"t1"}),
        result("ada", "ex2", {"t1", "t2", "t3"}),
    ]
    rates = {(r.exercise, r.test): r for r in pass_rates(results)}
    assert (rates["ex", "t1"].passed, rates["ex", "t1"].students) == (4, 4)
    assert rates["ex", "t2"].rate == 0.25 and rates["ex", "t3"].rate == 0.25
    assert rates["ex2", "t3"].rate == 1.0
    worst = [(r.exercise, r.test) for r in hardest(pass_rates(results))]
    assert worst == [("ex", "t2"), ("ex", "t3")]
    text = summary_text(results)
    assert "re-teach" in text and "ex: t2 passed by 1/4 (25%)" in text
    table, figure, page = write_class_report(results, tmp_path / "report")
    rows = list(csv.DictReader(table.open()))
    assert {(r["exercise"], r["test"], r["pass_rate"]) for r in rows} >= {("ex", "t2", "0.250")}
    image = matplotlib.image.imread(figure)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.shape[0] > 100
    html = page.read_text()
    assert "score_distribution.png" in html and "<tr class=low><td>ex</td><td>t2</td>" in html


def test_an_override_survives_a_rerun_that_rewrites_the_gradebook(tmp_path):
    subs = tmp_path / "submissions"
    for student in ("ada", "bob"):
        (subs / student).mkdir(parents=True)
    ada = submission(subs / "ada", "01_masked_softmax", {"masked_softmax_answer": CORRECT_MASKED})
    on_time = datetime(2025, 3, 1, 20, 0, tzinfo=UTC).timestamp()
    os.utime(ada, (on_time, on_time))
    bob = submission(subs / "bob", "01_masked_softmax", {"masked_softmax_answer": WRONG_MASKED})
    late = datetime(2025, 3, 2, 12, 0, tzinfo=UTC).timestamp()  # 1 day late
    os.utime(bob, (late, late))
    gradebook = tmp_path / "gradebook.csv"
    args = [
        subs,
        "--csv",
        gradebook,
        "--deadline",
        "2025-03-01T23:59Z",
        "--late-penalty",
        "10%/day",
    ]

    def grades() -> dict[str, str]:
        return {r["student"]: r["01_masked_softmax"] for r in csv.DictReader(gradebook.open())}

    first = run_cli(*args, "--class-report", tmp_path / "report")
    assert first.returncode == 0, first.stderr
    assert grades() == {"ada": "5.0", "bob": "0.0"}
    assert (tmp_path / "report" / "score_distribution.png").is_file()
    # The teacher regrades bob's padding test by hand, then grades again (twice).
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(
        "student,exercise,test,points,reason\nbob,01_masked_softmax,masked_padding,2,"
        "mask right; softmax axis typo\n"
    )
    for _ in range(2):
        again = run_cli(*args, "--overrides", overrides, "--json")
        assert again.returncode == 0, again.stderr
        assert grades() == {"ada": "5.0", "bob": "1.8"}  # 2 points, 10 % off for a day late
    bob_result = next(
        json.loads(line) for line in again.stdout.splitlines() if '"student": "bob"' in line
    )
    assert "mask right; softmax axis typo" in bob_result["detail"]
    rows = {
        r["student"]: r for r in csv.DictReader((tmp_path / "gradebook_adjustments.csv").open())
    }
    assert rows["bob"]["time_source"] == "file mtime" and rows["bob"]["late_by"] == "1 day"
    assert rows["bob"]["graded_score"] == "0.0" and rows["bob"]["score"] == "1.8"
    assert "masked_padding 0 -> 2" in rows["bob"]["adjustments"]
    tests = {r["student"]: r for r in csv.DictReader((tmp_path / "gradebook_tests.csv").open())}
    assert tests["bob"]["01_masked_softmax:masked_padding"] == "2.0"
    # An override that matches nothing is said, not silently dropped.
    overrides.write_text("student,exercise,test,points,reason\nbobby,01_masked_softmax,total,5,x\n")
    typo = run_cli(*args, "--overrides", overrides)
    assert "override not applied" in typo.stderr and "bobby" in typo.stderr
    assert grades()["bob"] == "0.0"
    assert Path(tmp_path / "gradebook_adjustments.csv").read_text().count("NOT APPLIED") == 1
