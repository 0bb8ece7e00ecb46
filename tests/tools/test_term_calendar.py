"""The term calendar: dates from --start, a week's exercises due before the next class, skipped
weeks, a six-week term, and clear errors for bad options."""

from datetime import date, datetime, time, timedelta

import pytest

from course_lib.tools.term_calendar import build, main, read_milestones, read_weeks, rows
from tests.grading.helpers import COURSE_DIR

START = date(2027, 1, 11)  # a Monday


def test_weeks_come_from_the_syllabus_and_classes_are_a_week_apart():
    cal = build(START)
    syllabus = read_weeks((COURSE_DIR / "teaching" / "syllabus.md").read_text())
    assert [w.number for w in cal.weeks] == [w.number for w in syllabus] == list(range(1, 8))
    assert [cal.classes[n] for n in range(1, 8)] == [START + timedelta(7 * i) for i in range(7)]
    assert cal.weeks[-1].optional and not any(w.optional for w in cal.weeks[:-1])


def test_a_weeks_exercises_are_due_the_evening_before_the_next_class():
    cal = build(START)
    for week, due in cal.exercise_deadlines():
        assert due == datetime.combine(cal.classes[week.number + 1] - timedelta(1), time(23, 59))
    csv_rows = rows(cal)
    warmup = next(r for r in csv_rows if r["item"] == "00_warmup")
    assert warmup == {
        "kind": "exercise",
        "week": "1",
        "item": "00_warmup",
        "points": "4",
        "due": "2027-01-17T23:59",
    }


def test_a_skipped_week_moves_every_later_class_and_deadline():
    plain, skipped = build(START), build(START, skip=[date(2027, 2, 3)])  # in week 4's slot
    assert skipped.classes[3] == plain.classes[3]
    assert skipped.classes[4] == plain.classes[4] + timedelta(7)
    assert skipped.slots.count(None) == 1
    late = dict((w.number, d) for w, d in skipped.exercise_deadlines())
    assert late[3] == dict((w.number, d) for w, d in plain.exercise_deadlines())[3] + timedelta(7)


def test_a_six_week_term_drops_lesson_07_and_moves_the_milestones():
    cal = build(START, weeks=6)
    assert [w.number for w in cal.weeks] == list(range(1, 7))
    assert not any(r["item"].startswith("07_") for r in rows(cal))
    deadlines = {m.name: d for m, d in cal.milestone_deadlines()}
    full = {m.name: d for m, d in build(START).milestone_deadlines()}
    assert deadlines["Proposal"] == full["Proposal"]
    assert deadlines["Final"] == full["Final"] - timedelta(7)


def test_due_time_and_days_before():
    cal = build(START, due_time=time(9, 0), days_before=0)
    week, due = cal.exercise_deadlines()[0]
    assert due == datetime(2027, 1, 18, 9, 0)


def test_milestones_read_from_the_project_table():
    text = "| Proposal | week 5 | x | 10 |\n| Final | last lesson week + 2 | y | 80 |\n"
    proposal, final = read_milestones(text)
    assert (proposal.due_week(7), final.due_week(7), final.due_week(6)) == (5, 9, 8)
    with pytest.raises(ValueError, match="Proposal"):
        read_milestones("| Proposal | soon | x | 10 |\n")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--start", "2027-13-01"], "--start"),
        (["--start", "2027-01-11", "--weeks", "9"], "--weeks must be between 1 and 7"),
        (["--start", "2027-01-11", "--weeks", "4"], "ends before the project's Proposal"),
        (["--start", "2027-01-11", "--skip", "2027-01-12"], "--skip 2027-01-12"),
        (["--start", "2027-01-11", "--due-time", "noon"], "--due-time"),
        (["--start", "2027-01-11", "--due-days-before", "7"], "--due-days-before"),
    ],
)
def test_bad_options_are_refused_with_a_message_naming_them(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_csv_output(capsys):
    assert main(["--start", "2027-01-11", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "kind,week,item,points,due"
    assert lines[-1] == "project,9,Final,80,2027-03-07T23:59"
