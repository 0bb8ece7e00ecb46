"""``course-grade``: grade notebooks or folders of notebooks.

course-grade SUBMISSION... [--exercise ID] [--json] [--csv FILE] [--jobs N]
             [--timeout S] [--memory MB]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .grade import COURSE_DIR, Grader, GraderError, exercise_ids
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
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write a gradebook CSV")
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


def collect(paths: list[Path]) -> list[Path]:
    """Expand folders into the notebooks below them (checkpoints skipped), in sorted order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*.ipynb")
                if ".ipynb_checkpoints" not in p.parts and p.is_file()
            )
        else:
            found.append(path)
    return found


def write_csv(results: list[dict], file: Path) -> None:
    """Gradebook: one row per submission, one column per test, then total and status."""
    columns: list[str] = []
    for result in results:
        for test in result["tests"]:
            column = f"{result['exercise']}:{test['name']}"
            if column not in columns:
                columns.append(column)
    with open(file, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "exercise", *columns, "score", "max_score", "status"])
        for result in results:
            points = {f"{result['exercise']}:{t['name']}": t["points"] for t in result["tests"]}
            writer.writerow(
                [
                    result["submission"],
                    result["exercise"],
                    *[points.get(c, "") for c in columns],
                    result["score"],
                    result["max_score"],
                    result["status"],
                ]
            )


def _human(result: dict) -> str:
    lines = [
        f"{result['submission']}: {result['score']:g}/{result['max_score']:g} "
        f"({result['exercise']}, {result['status']}, {result['seconds']:.1f} s)"
    ]
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
    grader = Grader(args.course_dir, Limits(args.timeout, args.memory))
    broken = False

    def grade(path: Path) -> dict:
        nonlocal broken
        try:
            return grader.grade(path, args.exercise)
        except GraderError as error:
            broken = True
            print(f"course-grade: {error}", file=sys.stderr)
            detail = "the course's own solution failed to run; tell your teacher"
        except Exception as error:  # noqa: BLE001 - one submission never stops the batch
            detail = f"grader failed on this file: {type(error).__name__}: {error}"
        return {
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
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(grade, submissions):
            results.append(result)
            print(json.dumps(result) if args.json else _human(result), flush=True)
    if args.csv:
        write_csv(results, args.csv)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
