"""``course-grade``: grade notebooks or folders of notebooks.

course-grade SUBMISSION... [--exercise ID] [--json] [--csv FILE] [--feedback DIR]
             [--jobs N] [--timeout S] [--memory MB] [--lms auto|folders|canvas|moodle]
             [--lms-csv canvas|moodle FILE] [--lms-assignment EXERCISE=LABEL]
             [--deadline TIME] [--late-penalty RULE] [--late-cap PERCENT]
             [--submission-times FILE] [--overrides FILE] [--class-report DIR]

A class: ``course-grade submissions/ --csv gradebook.csv --feedback feedback/`` where
``submissions/<student>/<exercise>.ipynb``, or ``submissions/`` is an unzipped Canvas or Moodle
download (see ``lms``). Deadlines and overrides: see ``policy``; class statistics: see
``classreport``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .classreport import summary_text, write_class_report
from .grade import COURSE_DIR, Grader, GraderError, exercise_ids
from .lms import LAYOUTS, Submission, write_canvas, write_moodle
from .lms import collect as collect_download
from .policy import (
    LatePolicy,
    PolicyError,
    adjust,
    adjustments_path,
    not_applied,
    read_overrides,
    read_times,
    write_adjustments,
)
from .report import (
    STATUS_MEANING,
    details_path,
    write_feedback,
    write_gradebook,
    write_test_details,
)
from .sandbox import Limits


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course-grade",
        description="Grade submitted exercise notebooks against the course's solutions.",
    )
    parser.add_argument(
        "submissions",
        nargs="+",
        type=Path,
        metavar="SUBMISSION",
        help="a notebook, or a folder (every *.ipynb below it)",
    )
    parser.add_argument("--exercise", help="grade every submission as this exercise id")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="write a gradebook (one row per student, one column per exercise) "
        "and FILE_tests.csv (one row per submission, one column per test)",
    )
    parser.add_argument(
        "--feedback",
        type=Path,
        metavar="DIR",
        help="write the feedback to hand back: DIR/<student>/index.html and DIR/<student>.zip "
        "(and DIR/moodle_feedback.zip for a Moodle download)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="submissions graded at once (default: number of cores)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds each submission may run (default 60)",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=4096,
        metavar="MB",
        help="address-space limit per submission in MB (default 4096)",
    )
    lms = parser.add_argument_group("learning-management systems")
    lms.add_argument(
        "--lms",
        choices=LAYOUTS,
        default="auto",
        help="how a folder is laid out: folders (<student>/<exercise>.ipynb), a Canvas or a "
        "Moodle download (default: detected per folder)",
    )
    lms.add_argument(
        "--lms-csv",
        nargs=2,
        metavar=("canvas|moodle", "FILE"),
        help="also write the grades as Canvas's gradebook import or Moodle's grading worksheet "
        "(one per exercise: FILE_<exercise>.csv when there are several)",
    )
    lms.add_argument(
        "--lms-assignment",
        action="append",
        default=[],
        metavar="EXERCISE=LABEL",
        help="the Canvas column for an exercise, e.g. '01_masked_softmax=Masked softmax (4321)'",
    )
    late = parser.add_argument_group("deadlines and overrides")
    late.add_argument("--deadline", metavar="TIME", help="ISO time, e.g. 2025-03-01T23:59+01:00")
    late.add_argument(
        "--late-penalty", metavar="RULE", help="share of the score lost per started day or "
        "hour late, e.g. 10%%/day or 2%%/hour (needs --deadline)",
    )  # fmt: skip
    late.add_argument(
        "--late-cap", metavar="PERCENT", help="most a late file loses (default 100%%)"
    )
    late.add_argument(
        "--submission-times",
        type=Path,
        metavar="FILE",
        help="when each file was handed in: Moodle's grading worksheet, or a CSV "
        "student,exercise,submitted_at (otherwise Canvas's LATE marker or the file's mtime)",
    )
    late.add_argument(
        "--overrides",
        type=Path,
        metavar="FILE",
        help="the teacher's CSV student,exercise,test,points,reason (test: a test's name or "
        "'total'), applied on every run",
    )
    parser.add_argument(
        "--class-report",
        type=Path,
        metavar="DIR",
        help="write pass rates per test, a score-distribution figure and a summary to DIR",
    )
    parser.add_argument("--course-dir", type=Path, default=COURSE_DIR, help=argparse.SUPPRESS)
    return parser


def _human(result: dict) -> str:
    lines = [
        f"{result['submission']}: {result['score']:g}/{result['max_score']:g} "
        f"({result['exercise']}, {result['status']}, {result['seconds']:.1f} s)"
    ]
    if result["status"] != "graded":
        lines.append(f"    {result['status']}: {STATUS_MEANING.get(result['status'], '')}")
    if result.get("detail"):
        lines.append(f"    {result['detail']}")
    for test in result["tests"]:
        mark = "\u2714" if test["passed"] else "\u2718"
        lines.append(
            f"  {mark} {test['name']} {test['points']:g}/{test['max_points']:g}"
            + ("" if test["passed"] else f": {test['message']}")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.timeout <= 0 or args.memory < 256:
        parser.error("--timeout must be > 0 and --memory at least 256 MB")
    missing = [str(p) for p in args.submissions if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    if args.exercise and args.exercise not in exercise_ids(args.course_dir):
        parser.error(
            f"--exercise: unknown id {args.exercise!r}; "
            f"expected one of {', '.join(exercise_ids(args.course_dir))}"
        )
    try:
        policy, times, overrides, labels = _adjustment_args(parser, args)
    except PolicyError as error:
        parser.error(str(error))
    found = collect_download(args.submissions, args.course_dir, args.lms, args.exercise)
    if not found.submissions:
        parser.error("no notebooks found in the given folders")
    _report_unmapped(found.submissions)
    # Learner code must not see any submission: hide the folders they come from.
    roots = {p if p.is_dir() else p.parent for p in args.submissions}
    grader = Grader(args.course_dir, Limits(args.timeout, args.memory), hide=sorted(roots))
    if grader.isolation != "namespace":
        print(
            "course-grade: warning: namespace sandbox unavailable (run as root on Linux for it);"
            " learner code runs as this user and could read what this user can read",
            file=sys.stderr,
        )
    broken = False

    def grade(sub: Submission) -> dict:
        nonlocal broken
        known = {"student": sub.student, **({"lms": sub.lms()} if sub.lms() else {})}
        if sub.exercise is None:  # not a notebook, or no exercise: listed, never dropped
            return {**known, **_ungraded(sub, sub.problem)}
        try:
            return {**known, **grader.grade(sub.path, sub.exercise)}
        except GraderError as error:
            broken = True
            print(f"course-grade: {error}", file=sys.stderr)
            detail = "the course's own solution failed to run; tell your teacher"
        except Exception as error:  # noqa: BLE001 - one submission never stops the batch
            detail = f"grader failed on this file: {type(error).__name__}: {error}"
        return {**known, **_ungraded(sub, detail, "error")}

    results, used = [], set()
    with grader, ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for sub, result in zip(found.submissions, pool.map(grade, found.submissions), strict=True):
            used |= adjust(result, sub, policy, times, overrides)  # before it is printed
            results.append(result)
            print(json.dumps(result) if args.json else _human(result), flush=True)
    unused = not_applied(overrides, used, results)
    for line in unused:
        print(f"course-grade: warning: override not applied: {line}", file=sys.stderr)
    if args.csv:
        write_gradebook(results, args.csv)
        write_test_details(results, details_path(args.csv))
        written = f"gradebook {args.csv}, per-test detail {details_path(args.csv)}"
        if policy is not None or overrides:
            write_adjustments(results, adjustments_path(args.csv), unused)
            written += f", late penalties and overrides {adjustments_path(args.csv)}"
        print(f"course-grade: {written}", file=sys.stderr)
    if args.feedback:
        pages = write_feedback(results, args.feedback)
        print(f"course-grade: {len(pages)} feedback pages in {args.feedback}/", file=sys.stderr)
    if args.lms_csv:
        _write_lms(args.lms_csv, results, labels)
    if args.class_report:
        write_class_report(results, args.class_report)
        print(summary_text(results), file=sys.stderr)
        print(f"course-grade: class report in {args.class_report}/", file=sys.stderr)
    return 1 if broken else 0


def _adjustment_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple:
    """The late policy, submission times, overrides and Canvas labels the arguments ask for."""
    if (args.late_penalty or args.late_cap) and not args.deadline:
        parser.error("--late-penalty and --late-cap need --deadline")
    policy = (
        LatePolicy.parse(args.deadline, args.late_penalty, args.late_cap) if args.deadline else None
    )
    if args.submission_times and policy is None:
        parser.error("--submission-times needs --deadline")
    times = read_times(args.submission_times) if args.submission_times else {}
    overrides = read_overrides(args.overrides) if args.overrides else []
    if args.lms_csv and args.lms_csv[0] not in ("canvas", "moodle"):
        parser.error(f"--lms-csv: the format is canvas or moodle, not {args.lms_csv[0]!r}")
    labels = {}
    for item in args.lms_assignment:
        exercise, sep, label = item.partition("=")
        if not sep or not label.strip():
            parser.error(f"--lms-assignment: expected EXERCISE=LABEL, not {item!r}")
        if exercise not in exercise_ids(args.course_dir):
            parser.error(f"--lms-assignment: unknown exercise {exercise!r}")
        labels[exercise] = label.strip()
    return policy, times, overrides, labels


def _report_unmapped(submissions: list[Submission]) -> None:
    """Say which files could not be mapped (they are still listed in every output)."""
    unmapped = [s for s in submissions if s.problem]
    layouts = sorted({s.layout for s in submissions})
    print(
        f"course-grade: {len(submissions) - len(unmapped)} of {len(submissions)} files mapped "
        f"to a student and an exercise ({', '.join(layouts)} layout)",
        file=sys.stderr,
    )
    for sub in unmapped:
        print(f"course-grade: could not map {sub.path}: {sub.problem}", file=sys.stderr)


def _ungraded(sub: Submission, detail: str, status: str = "invalid") -> dict:
    return {
        "submission": str(sub.path),
        "exercise": sub.exercise,
        "status": status,
        "score": 0.0,
        "max_score": 0.0,
        "tests": [],
        "seconds": 0.0,
        "detail": detail,
    }


def _write_lms(spec: list[str], results: list[dict], labels: dict[str, str]) -> None:
    kind, file = spec[0], Path(spec[1])
    left_out = (
        write_canvas(results, file, labels) if kind == "canvas" else write_moodle(results, file)
    )
    print(f"course-grade: {kind} grade import in {file}", file=sys.stderr)
    for student in left_out:
        print(
            f"course-grade: warning: {student} is not in the {kind} grade import "
            f"(their files did not come from a {kind} download)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
