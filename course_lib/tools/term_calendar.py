"""Print a dated term calendar from the teaching kit.

    python -m course_lib.tools.term_calendar --start 2027-01-11

The weeks, lessons, exercises and points come from ``teaching/syllabus.md`` (its table), the
project milestones from ``teaching/project.md`` (its milestone table), so the calendar always
matches what the kit says. Week 1's class is on ``--start``; each later week's class is seven days
after the previous one, except that a week holding a ``--skip`` date (a holiday, a reading week)
has no class. A week's exercises are due the day before the next week's class, at ``--due-time``
(``--due-days-before 0``: on the class day); a milestone due "week N" is due the same way before
week N's class. ``--weeks 6`` ends the term before
the optional week 7. ``--format csv`` prints one row per deadline, for a spreadsheet or an LMS.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

COURSE_DIR = Path(__file__).resolve().parents[2]
SYLLABUS = COURSE_DIR / "teaching" / "syllabus.md"
PROJECT = COURSE_DIR / "teaching" / "project.md"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_ROW = re.compile(r"^\| (\d+) \| `(\d\d_\w+\.ipynb)` \|(.*)\|\s*$", re.M)
_EXERCISE = re.compile(r"`(\d\d_\w+)` \((\d+)\)")
_HEADING = re.compile(r"^## Week (\d+) — (.+)$", re.M)
_MILESTONE = re.compile(r"^\| (Proposal|Check-in|Final) \| ([^|]+) \|[^|]*\| (\d+) \|\s*$", re.M)
_DUE = re.compile(r"^(?:week (\d+)|the last lesson week|last lesson week \+ (\d+))$")


@dataclass(frozen=True)
class Week:
    """One lesson week of the syllabus."""

    number: int
    title: str
    lessons: tuple[str, ...]
    exercises: tuple[tuple[str, int], ...]

    @property
    def optional(self) -> bool:
        return "optional" in self.title


@dataclass(frozen=True)
class Milestone:
    """A project milestone: due the day before the class of week ``week`` (``last`` + offset
    when ``week`` is None)."""

    name: str
    week: int | None
    after_last: int
    points: int

    def due_week(self, last: int) -> int:
        return self.week if self.week is not None else last + self.after_last


def read_weeks(text: str) -> list[Week]:
    """The syllabus's weeks, in order, from its table and its ``## Week N — title`` headings."""
    lessons: dict[int, list[str]] = {}
    exercises: dict[int, list[tuple[str, int]]] = {}
    for number, notebook, rest in _ROW.findall(text):
        week = int(number)
        lessons.setdefault(week, []).append(notebook.removesuffix(".ipynb"))
        exercises.setdefault(week, []).extend((e, int(p)) for e, p in _EXERCISE.findall(rest))
    titles = {int(n): title.strip() for n, title in _HEADING.findall(text)}
    if not lessons:
        raise ValueError("the syllabus has no table rows like '| 1 | `00_start_here.ipynb` | …'")
    if sorted(lessons) != list(range(1, max(lessons) + 1)):
        raise ValueError(f"the syllabus's weeks are not 1, 2, …: {sorted(lessons)}")
    missing = sorted(set(lessons) - set(titles))
    if missing:
        raise ValueError(f"the syllabus has no '## Week N — title' heading for weeks {missing}")
    return [Week(n, titles[n], tuple(lessons[n]), tuple(exercises[n])) for n in sorted(lessons)]


def read_milestones(text: str) -> list[Milestone]:
    """The project's milestones from ``project.md``'s table (name, due, …, points)."""
    milestones = []
    for name, due, points in _MILESTONE.findall(text):
        match = _DUE.match(due.strip())
        if match is None:
            raise ValueError(
                f"project.md: milestone {name!r} has due {due.strip()!r}; write 'week N', "
                "'the last lesson week' or 'last lesson week + N'"
            )
        week, after = match.groups()
        milestones.append(
            Milestone(name, int(week) if week else None, int(after or 0), int(points))
        )
    if not milestones:
        raise ValueError("project.md has no milestone table rows (Proposal, Check-in, Final)")
    return milestones


def class_dates(start: date, count: int, skip: list[date]) -> list[date | None]:
    """``count`` class dates, one a week from ``start``; a week (its class day and the six days
    after) holding a ``skip`` date gets None and is not counted."""
    slots: list[date | None] = []
    day = start
    while sum(d is not None for d in slots) < count:
        slots.append(None if any(day <= s < day + timedelta(7) for s in skip) else day)
        day += timedelta(7)
    return slots


@dataclass(frozen=True)
class Calendar:
    """The dated term: class dates per week and every deadline."""

    weeks: list[Week]
    slots: list[date | None]
    classes: dict[int, date]
    due_time: time
    days_before: int
    milestones: list[Milestone]

    def due(self, week: int) -> datetime:
        """The deadline 'before the class of week ``week``': ``days_before`` days before it
        (the day before, by default), at the due time."""
        return datetime.combine(self.classes[week] - timedelta(self.days_before), self.due_time)

    def exercise_deadlines(self) -> list[tuple[Week, datetime]]:
        return [(week, self.due(week.number + 1)) for week in self.weeks]

    def milestone_deadlines(self) -> list[tuple[Milestone, datetime]]:
        last = self.weeks[-1].number
        return [(m, self.due(m.due_week(last))) for m in self.milestones]


def build(
    start: date,
    *,
    weeks: int | None = None,
    skip: list[date] | None = None,
    due_time: time = time(23, 59),
    days_before: int = 1,
    syllabus: str | None = None,
    project: str | None = None,
) -> Calendar:
    """The calendar of a term whose first class is on ``start``."""
    all_weeks = read_weeks(SYLLABUS.read_text() if syllabus is None else syllabus)
    milestones = read_milestones(PROJECT.read_text() if project is None else project)
    count = len(all_weeks) if weeks is None else weeks
    if not 1 <= count <= len(all_weeks):
        raise ValueError(f"--weeks must be between 1 and {len(all_weeks)}, not {count}")
    if not 0 <= days_before <= 6:
        raise ValueError(f"--due-days-before must be between 0 and 6, not {days_before}")
    skip = sorted(skip or [])
    early = [s for s in skip if s < start + timedelta(7)]
    if early:
        raise ValueError(
            f"--skip {early[0]} is before week 2 (--start {start}): start the term later instead"
        )
    chosen = all_weeks[:count]
    for milestone in milestones:
        if milestone.week is not None and milestone.week > count:
            raise ValueError(
                f"--weeks {count} ends before the project's {milestone.name} (due week "
                f"{milestone.week}); move it in teaching/project.md or teach more weeks"
            )
    # Deadlines reach past the last lesson (the next week's class, the final milestone).
    horizon = max([count + 1] + [m.due_week(count) for m in milestones])
    slots = class_dates(start, horizon, skip)
    dated = [d for d in slots if d is not None]
    classes = {n: d for n, d in enumerate(dated, start=1)}
    return Calendar(
        chosen, slots[: slots.index(classes[count]) + 1], classes, due_time, days_before, milestones
    )


def _day(d: date | datetime) -> str:
    return f"{DAYS[d.weekday()]} {d:%Y-%m-%d}"


def _when(d: datetime) -> str:
    return f"{_day(d)} {d:%H:%M}"


def markdown(cal: Calendar) -> str:
    """The calendar as Markdown tables: lesson weeks, then project milestones."""
    lines = [
        "| week | class | lessons | exercises (points) | exercises due |",
        "|---|---|---|---|---|",
    ]
    deadlines = dict((w.number, d) for w, d in cal.exercise_deadlines())
    number = 0
    for index, slot in enumerate(cal.slots):
        if slot is None:
            skipped = cal.classes[1] + timedelta(7 * index)
            lines.append(f"| — | {_day(skipped)}: no class (skipped week) | | | |")
            continue
        number += 1
        week = cal.weeks[number - 1]
        lessons = ", ".join(f"`{name}`" for name in week.lessons)
        if week.optional:
            lessons += " (advanced, optional)"
        exercises = ", ".join(f"`{e}` ({p})" for e, p in week.exercises)
        lines.append(
            f"| {number} | {_day(slot)} | {lessons} | {exercises} | {_when(deadlines[number])} |"
        )
    total = sum(p for week in cal.weeks for _, p in week.exercises)
    lines += [
        "",
        f"Exercise points in this term: {total}.",
        "",
        "| project milestone | due | points |",
        "|---|---|---:|",
    ]
    lines += [f"| {m.name} | {_when(d)} | {m.points} |" for m, d in cal.milestone_deadlines()]
    return "\n".join(lines) + "\n"


def rows(cal: Calendar) -> list[dict[str, str]]:
    """One row per deadline: every exercise and every milestone, with its due date and time."""
    out = [
        {
            "kind": "exercise",
            "week": str(week.number),
            "item": exercise,
            "points": str(points),
            "due": due.isoformat(timespec="minutes"),
        }
        for week, due in cal.exercise_deadlines()
        for exercise, points in week.exercises
    ]
    last = cal.weeks[-1].number
    out += [
        {
            "kind": "project",
            "week": str(m.due_week(last)),
            "item": m.name,
            "points": str(m.points),
            "due": due.isoformat(timespec="minutes"),
        }
        for m, due in cal.milestone_deadlines()
    ]
    return out


def to_csv(cal: Calendar) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["kind", "week", "item", "points", "due"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(cal))
    return buffer.getvalue()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2027-01-11") from None


def _time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 23:59") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.tools.term_calendar",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--start", type=_date, required=True, help="week 1's class (YYYY-MM-DD)")
    parser.add_argument("--weeks", type=int, help="lesson weeks to teach (6 drops week 7)")
    parser.add_argument(
        "--skip", type=_date, action="append", default=[], help="a date in a week without class"
    )
    parser.add_argument("--due-time", type=_time, default=time(23, 59), help="default 23:59")
    parser.add_argument(
        "--due-days-before",
        type=int,
        default=1,
        help="deadlines fall this many days before the next class (default 1; 0: class day)",
    )
    parser.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    args = parser.parse_args(argv)
    try:
        cal = build(
            args.start,
            weeks=args.weeks,
            skip=args.skip,
            due_time=args.due_time,
            days_before=args.due_days_before,
        )
    except ValueError as error:
        parser.error(str(error))
    sys.stdout.write(markdown(cal) if args.format == "markdown" else to_csv(cal))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
