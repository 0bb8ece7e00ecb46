"""Deadlines, the late penalty and the teacher's overrides, applied to graded results.

Order, on every run: the teacher's per-test overrides replace those tests' points; the score
is summed again; the late penalty takes its share of that score; a ``total`` override then
sets the score outright (the teacher's word is final). Each step is recorded on the result
(``graded_score``, ``late``, ``adjustments``) and written to ``<gradebook>_adjustments.csv``, so
an override lives in ``overrides.csv`` and is applied again whenever the gradebook is rewritten.

When was a file handed in? The first of: a times file (``--submission-times``: Moodle's
grading worksheet, whose ``Last modified (submission)`` column is Moodle's submission time, or
a CSV ``student,exercise,submitted_at``); Canvas's ``LATE`` marker (Canvas decided the file was
late but the download does not say by how much: counted as one unit late; no marker: on time);
else the file's modification time (what a copied folder keeps; an unzipped download often
carries the download's time instead, so prefer a times file). Each row says which it used.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .lms import Submission

_UNITS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
_RULE = re.compile(r"^\s*(?P<rate>\d+(?:\.\d+)?)\s*%\s*/\s*(?P<unit>day|hour)\s*$")
# Moodle writes dates with userdate(), e.g. "Monday, 6 January 2025, 10:00 AM".
_MOODLE_DATES = ("%A, %d %B %Y, %I:%M %p", "%d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M")


class PolicyError(ValueError):
    """A deadline, penalty rule, times file or overrides file that cannot be used; says why."""


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (``2025-03-01T23:59``, ``...+01:00``, ``...Z``) or one as Moodle prints
    it; a time without a zone is local time. Always returns an aware datetime."""
    text = text.strip()
    value = None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in _MOODLE_DATES:
            try:
                value = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if value is None:
        raise PolicyError(f"not a date and time: {text!r} (expected e.g. 2025-03-01T23:59)")
    return value if value.tzinfo else value.astimezone()


@dataclass(frozen=True)
class LatePolicy:
    """A deadline and ``rate`` of the score lost per started ``unit`` late, at most ``cap``."""

    deadline: datetime
    rate: float = 0.0
    unit: str = "day"
    cap: float = 1.0

    @classmethod
    def parse(cls, deadline: str, rule: str | None, cap: str | None) -> LatePolicy:
        """From ``--deadline``, ``--late-penalty`` (``10%/day``, ``2%/hour``) and ``--late-cap``."""
        rate, unit = 0.0, "day"
        if rule:
            match = _RULE.match(rule)
            if match is None:
                raise PolicyError(f"--late-penalty: expected e.g. 10%/day or 2%/hour, not {rule!r}")
            rate, unit = float(match["rate"]) / 100, match["unit"]
        limit = 1.0
        if cap:
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", cap)
            if match is None or float(match[1]) > 100:
                raise PolicyError(f"--late-cap: expected a percentage up to 100%, not {cap!r}")
            limit = float(match[1]) / 100
        if rate > 1:
            raise PolicyError(f"--late-penalty: more than 100% per {unit} ({rule!r})")
        return cls(parse_time(deadline), rate, unit, limit)

    def describe(self) -> str:
        return f"{self.rate:.0%}/{self.unit}, at most {self.cap:.0%}"

    def units_late(self, submitted: datetime) -> int:
        """Started units after the deadline (a minute late is one day late); 0 if on time."""
        late = submitted - self.deadline
        return 0 if late <= timedelta(0) else math.ceil(late / _UNITS[self.unit])

    def penalty(self, units: int) -> float:
        return min(self.cap, self.rate * units)


def read_times(file: Path) -> dict[tuple[str, str | None], datetime]:
    """(student or Moodle participant id, exercise or None) -> submission time, from a Moodle
    grading worksheet or a CSV with ``student``, ``submitted_at`` and optionally ``exercise``."""
    try:
        rows = list(csv.DictReader(file.open(newline="", encoding="utf-8-sig")))
    except OSError as error:
        raise PolicyError(f"--submission-times: cannot read {file}: {error.strerror}") from None
    times: dict[tuple[str, str | None], datetime] = {}
    columns = set(rows[0]) if rows else set()
    if {"Identifier", "Last modified (submission)"} <= columns:
        for row in rows:
            stamp = (row["Last modified (submission)"] or "").strip()
            if stamp in ("", "-"):
                continue  # Moodle's "-": nothing submitted
            participant = re.sub(r"^\D*", "", row["Identifier"])
            times[(participant, None)] = _time(stamp, file)
        return times
    if {"student", "submitted_at"} <= columns:
        for row in rows:
            key = (row["student"].strip(), (row.get("exercise") or "").strip() or None)
            times[key] = _time(row["submitted_at"], file)
        return times
    raise PolicyError(
        f"--submission-times: {file} has neither Moodle's 'Identifier' and 'Last modified "
        "(submission)' columns nor 'student' and 'submitted_at'"
    )


def _time(text: str, file: Path) -> datetime:
    try:
        return parse_time(text)
    except PolicyError as error:
        raise PolicyError(f"--submission-times: {file}: {error}") from None


def submission_time(
    sub: Submission, times: dict[tuple[str, str | None], datetime]
) -> tuple[datetime | None, str]:
    """When ``sub`` was handed in and where that came from (``None``: only Canvas's marker)."""
    for key in ((sub.student, sub.exercise), (sub.lms_id, sub.exercise)):
        if key[0] and key in times:
            return times[key], "times file"
    for key in ((sub.student, None), (sub.lms_id, None)):
        if key[0] and key in times:
            return times[key], "Moodle worksheet" if sub.layout == "moodle" else "times file"
    if sub.late is not None:
        return None, "Canvas LATE marker" if sub.late else "Canvas (no LATE marker)"
    mtime = datetime.fromtimestamp(sub.path.stat().st_mtime, tz=UTC)
    return mtime, "file mtime"


def apply_late(result: dict, sub: Submission, policy: LatePolicy, times: dict) -> None:
    """Record when ``result``'s file came in and take the late penalty off its score."""
    submitted, source = submission_time(sub, times)
    if submitted is None:  # Canvas's marker: late or not, by an unknown amount
        units = 1 if sub.late else 0
    else:
        units = policy.units_late(submitted)
    penalty = policy.penalty(units)
    result["late"] = {
        "submitted_at": submitted.isoformat(timespec="seconds") if submitted else "",
        "source": source,
        "units_late": units,
        "unit": policy.unit,
        "penalty": penalty,
    }
    if units:
        lost = round(result["score"] * penalty, 4)
        result["score"] = round(result["score"] - lost, 4)
        how = " (Canvas says late, not by how much: counted as 1)" if submitted is None else ""
        note = (
            f"late by {units} {policy.unit}{'s' if units > 1 else ''}{how}, time from {source}: "
            f"-{penalty:.0%} ({policy.describe()}), -{lost:g} points"
        )
        _note(result, note)


@dataclass(frozen=True)
class Override:
    """One row of ``overrides.csv``: ``test`` is a test's name or ``total``."""

    line: int
    student: str
    exercise: str
    test: str
    points: float
    reason: str

    def matches(self, result: dict) -> bool:
        lms = result.get("lms") or {}
        return result.get("exercise") == self.exercise and self.student in (
            result["student"],
            lms.get("id"),
        )


OVERRIDE_COLUMNS = ["student", "exercise", "test", "points", "reason"]


def read_overrides(file: Path) -> list[Override]:
    """The teacher's overrides; a malformed row is an error naming its line."""
    try:
        handle = file.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise PolicyError(f"--overrides: cannot read {file}: {error.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in OVERRIDE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise PolicyError(
                f"--overrides: {file} lacks the column(s) {', '.join(missing)}; "
                f"expected the header {','.join(OVERRIDE_COLUMNS)}"
            )
        overrides = []
        for row in reader:
            line = reader.line_num
            values = {k: (row.get(k) or "").strip() for k in OVERRIDE_COLUMNS}
            if not any(values.values()):
                continue
            empty = [k for k in ("student", "exercise", "test", "points") if not values[k]]
            if empty:
                raise PolicyError(f"--overrides: {file} line {line}: empty {', '.join(empty)}")
            try:
                points = float(values["points"])
            except ValueError:
                points = math.nan
            if not math.isfinite(points) or points < 0:
                raise PolicyError(
                    f"--overrides: {file} line {line}: points must be a number >= 0, "
                    f"not {values['points']!r}"
                )
            overrides.append(
                Override(
                    line,
                    values["student"],
                    values["exercise"],
                    values["test"],
                    points,
                    values["reason"],
                )
            )
    return overrides


def apply_test_overrides(results: list[dict], overrides: list[Override]) -> set[Override]:
    """Per-test overrides (before the late penalty); returns those that matched a test."""
    used = set()
    for override in overrides:
        if override.test == "total":
            continue
        for result in results:
            if not override.matches(result):
                continue
            test = next((t for t in result["tests"] if t["name"] == override.test), None)
            if test is None or override.points > test["max_points"]:
                continue
            before = test["points"]
            test["points"] = override.points
            test["passed"] = override.points >= test["max_points"]
            test["message"] = f"{test['message']} [override: {override.reason or 'no reason'}]"
            result["score"] = sum(t["points"] for t in result["tests"])
            _note(
                result,
                f"override (overrides.csv line {override.line}): {override.test} "
                f"{before:g} -> {override.points:g} points ({override.reason or 'no reason'})",
            )
            used.add(override)
    return used


def apply_total_overrides(results: list[dict], overrides: list[Override]) -> set[Override]:
    """``total`` overrides (after the late penalty); returns those that matched a submission."""
    used = set()
    for override in overrides:
        if override.test != "total":
            continue
        for result in results:
            if not override.matches(result) or override.points > result["max_score"]:
                continue
            _note(
                result,
                f"override (overrides.csv line {override.line}): total "
                f"{result['score']:g} -> {override.points:g} points "
                f"({override.reason or 'no reason'})",
            )
            result["score"] = override.points
            used.add(override)
    return used


def adjust(
    result: dict,
    sub: Submission,
    policy: LatePolicy | None,
    times: dict,
    overrides: list[Override],
) -> set[Override]:
    """Overrides and the late penalty, in order, on one result; returns the overrides used."""
    result["graded_score"] = result["score"]
    used = apply_test_overrides([result], overrides)
    if policy is not None and result.get("exercise"):  # a file that is no exercise: no deadline
        apply_late(result, sub, policy, times)
    return used | apply_total_overrides([result], overrides)


def not_applied(overrides: list[Override], used: set[Override], results: list[dict]) -> list[str]:
    """One line per override that matched nothing, saying why."""
    return [
        f"overrides.csv line {o.line} ({o.student}, {o.exercise}, {o.test}): "
        + unused_reason(o, results)
        for o in overrides
        if o not in used
    ]


def apply_all(
    results: list[dict],
    submissions: dict[str, Submission],
    policy: LatePolicy | None,
    times: dict,
    overrides: list[Override],
) -> list[str]:
    """``adjust`` on every result (``submissions``: by the result's ``submission`` path);
    returns one line per override that was not applied."""
    used: set[Override] = set()
    for result in results:
        used |= adjust(result, submissions[result["submission"]], policy, times, overrides)
    return not_applied(overrides, used, results)


def unused_reason(override: Override, results: list[dict]) -> str:
    """Why an override matched nothing, for the warning."""
    mine = [r for r in results if override.matches(r)]
    if not mine:
        return f"no submission of {override.exercise!r} by {override.student!r}"
    if override.test == "total":
        return f"{override.points:g} points is more than the exercise's {mine[0]['max_score']:g}"
    tests = {t["name"]: t["max_points"] for r in mine for t in r["tests"]}
    if override.test not in tests:
        known = ", ".join(sorted(tests)) or "none: the file was not graded"
        return f"no test {override.test!r} in {override.exercise} (its tests: {known})"
    return f"{override.points:g} points is more than the test's {tests[override.test]:g}"


def _note(result: dict, note: str) -> None:
    result.setdefault("adjustments", []).append(note)
    result["detail"] = "; ".join(filter(None, [result.get("detail", ""), note]))


ADJUSTMENT_COLUMNS = [
    "student",
    "exercise",
    "submission",
    "graded_score",
    "submitted_at",
    "time_source",
    "late_by",
    "penalty",
    "adjustments",
    "score",
    "max_score",
]


def _units(late: dict) -> str:
    return f"{late['units_late']} {late['unit']}{'' if late['units_late'] == 1 else 's'}"


def adjustments_path(gradebook: Path) -> Path:
    """``gradebook.csv`` -> ``gradebook_adjustments.csv``."""
    return gradebook.with_name(f"{gradebook.stem}_adjustments{gradebook.suffix or '.csv'}")


def write_adjustments(results: list[dict], file: Path, unused: list[str]) -> None:
    """One row per submission: the grader's score, lateness and its source, each override,
    the final score; then one row per override that was not applied, saying why."""
    with open(file, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ADJUSTMENT_COLUMNS)
        for result in results:
            late = result.get("late") or {}
            writer.writerow(
                [
                    result["student"],
                    result["exercise"] or "",
                    result["submission"],
                    result.get("graded_score", ""),
                    late.get("submitted_at", ""),
                    late.get("source", ""),
                    _units(late) if late else "",
                    f"{late['penalty']:.0%}" if late else "",
                    " | ".join(result.get("adjustments", [])),
                    result["score"],
                    result["max_score"],
                ]
            )
        for reason in unused:
            writer.writerow(["", "", "", "", "", "", "", "", f"NOT APPLIED: {reason}", "", ""])
