"""``course-grade``: grade notebooks or folders of notebooks.

course-grade SUBMISSION... [--exercise ID] [--json] [--csv FILE] [--feedback DIR]
             [--jobs N] [--timeout S] [--memory MB]

A class: ``course-grade submissions/ --csv gradebook.csv --feedback feedback/`` where
``submissions/<student>/<exercise>.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .grade import COURSE_DIR, Grader, GraderError, exercise_ids
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
        help="write one feedback page per student, DIR/<student>.html",
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
    parser.add_argument("--course-dir", type=Path, default=COURSE_DIR, help=argparse.SUPPRESS)
    return parser


def collect(paths: list[Path]) -> list[tuple[Path, str]]:
    """Every notebook to grade with its student id, in a stable order.

    A folder is searched recursively (checkpoints skipped); a notebook at
    ``FOLDER/<student>/.../<exercise>.ipynb`` belongs to ``<student>``. A notebook given
    directly, or lying directly in the folder, belongs to the folder it is in.
    """
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            for notebook in sorted(path.rglob("*.ipynb")):
                if ".ipynb_checkpoints" in notebook.parts or not notebook.is_file():
                    continue
                parts = notebook.relative_to(path).parts
                found.append((notebook, parts[0] if len(parts) > 1 else path.resolve().name))
        else:
            found.append((path, path.resolve().parent.name))
    return found


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
    submissions = collect(args.submissions)
    if not submissions:
        parser.error("no notebooks found in the given folders")
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

    def grade(item: tuple[Path, str]) -> dict:
        nonlocal broken
        path, student = item
        try:
            return {"student": student, **grader.grade(path, args.exercise)}
        except GraderError as error:
            broken = True
            print(f"course-grade: {error}", file=sys.stderr)
            detail = "the course's own solution failed to run; tell your teacher"
        except Exception as error:  # noqa: BLE001 - one submission never stops the batch
            detail = f"grader failed on this file: {type(error).__name__}: {error}"
        return {
            "student": student,
            "submission": str(path),
            "exercise": args.exercise,
            "status": "error",
            "score": 0.0,
            "max_score": 0.0,
            "tests": [],
            "seconds": 0.0,
            "detail": detail,
        }

    results = []
    with grader, ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(grade, submissions):
            results.append(result)
            print(json.dumps(result) if args.json else _human(result), flush=True)
    if args.csv:
        write_gradebook(results, args.csv)
        write_test_details(results, details_path(args.csv))
        print(
            f"course-grade: gradebook {args.csv}, per-test detail {details_path(args.csv)}",
            file=sys.stderr,
        )
    if args.feedback:
        pages = write_feedback(results, args.feedback)
        print(f"course-grade: {len(pages)} feedback pages in {args.feedback}/", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
