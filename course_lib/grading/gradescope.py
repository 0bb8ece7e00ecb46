"""A Gradescope autograder that runs the course's grader: ``make gradescope [EXERCISE=ID]``.

``python -m course_lib.grading.gradescope build --out autograder.zip [--exercise ID]`` writes
the zip Gradescope asks for (its "Autograder Specifications"): ``setup.sh`` and
``run_autograder`` at the root, next to ``course/`` (``course_lib``, ``solutions/``,
``exercises/``, ``pyproject.toml``, ``constraints.txt``) and ``gradescope.json`` (the settings).
Gradescope unpacks it into ``/autograder/source``, runs ``setup.sh`` once when it builds the
image, and ``run_autograder`` for each submission: every notebook in
``/autograder/submission`` is graded by ``course-grade``'s grader, and
``/autograder/results/results.json`` gets one test per graded test cell (``name``,
``score``, ``max_score``, ``status``, ``output``: the grader's message, ``visibility``). A
test cell with hidden tests is shown ``after_due_date`` (or ``after_published``, with
``--hidden-visibility``): a learner sees the visible checks in the notebook itself and learns
about the hidden ones after the deadline. ``AUTOGRADER_ROOT`` (default ``/autograder``) and
``AUTOGRADER_PYTHON`` stand in for Gradescope's folders and interpreter in tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from pathlib import Path

from .grade import COURSE_DIR, Grader, exercise_for, exercise_ids
from .sandbox import Limits

VISIBILITIES = ("after_due_date", "after_published", "hidden", "visible")
HIDDEN_MARK = "BEGIN HIDDEN TESTS"
CONFIG = "gradescope.json"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 base).
set -euo pipefail
SOURCE=/autograder/source
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv > /dev/null
python3.11 -m venv /autograder/venv
# The course's pinned versions; editable, so the grader finds solutions/ next to course_lib/.
/autograder/venv/bin/python -m pip install --quiet -c "$SOURCE/course/constraints.txt" \\
    -e "$SOURCE/course"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission; it writes $ROOT/results/results.json.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-/autograder/venv/bin/python}"
COURSE="$ROOT/source/course"
mkdir -p "$ROOT/results"
cd "$COURSE" && PYTHONPATH="$COURSE" exec "$PYTHON" -m course_lib.grading.gradescope run \\
    --root "$ROOT" --course-dir "$COURSE"
"""

# What of the course the autograder needs: the library, the notebooks it grades against.
_COURSE_FILES = ("pyproject.toml", "constraints.txt", "README.md")
_COURSE_DIRS = ("course_lib", "solutions", "exercises")


def build(
    out: Path,
    course_dir: Path = COURSE_DIR,
    exercise: str | None = None,
    hidden_visibility: str = "after_due_date",
    timeout: float = 120.0,
) -> Path:
    """Write the autograder zip to ``out``; ``exercise``: grade every upload as this one."""
    if exercise is not None and exercise not in exercise_ids(course_dir):
        raise ValueError(
            f"unknown exercise {exercise!r}; expected one of {', '.join(exercise_ids(course_dir))}"
        )
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden visibility must be one of {', '.join(VISIBILITIES)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    config = {"exercise": exercise, "hidden_visibility": hidden_visibility, "timeout": timeout}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16  # executable, as Gradescope needs
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
        info = zipfile.ZipInfo(CONFIG, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o100644 << 16
        archive.writestr(info, json.dumps(config, indent=2))
        for name in _COURSE_FILES:
            if (course_dir / name).is_file():
                archive.write(course_dir / name, f"course/{name}")
        for folder in _COURSE_DIRS:
            for path in sorted((course_dir / folder).rglob("*")):
                relative = path.relative_to(course_dir)
                if path.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(
                    relative.parts
                ):
                    archive.write(path, f"course/{relative}")
    return out


def _visibility(source: str, hidden: str) -> str:
    return hidden if HIDDEN_MARK in source else "visible"


def results_json(results: list[dict], grader: Grader, hidden: str) -> dict:
    """Gradescope's results.json for the graded notebooks of one submission."""
    tests, output = [], []
    for result in results:
        exercise = result["exercise"]
        sources = (
            {t.grade_id: t.source for t in grader.exercise(exercise).tests} if exercise else {}
        )
        name = Path(result["submission"]).name
        output.append(
            f"{name}: {result['score']:g}/{result['max_score']:g} ({result['status']})"
            + (f": {result['detail']}" if result.get("detail") else "")
        )
        for test in result["tests"]:
            tests.append(
                {
                    "name": f"{exercise}: {test['name']}",
                    "score": test["points"],
                    "max_score": test["max_points"],
                    "status": "passed" if test["passed"] else "failed",
                    "output": test["message"],
                    "visibility": _visibility(sources.get(test["name"], ""), hidden),
                }
            )
        if not result["tests"]:  # not graded at all: say why, as a test worth nothing
            tests.append(
                {
                    "name": f"{exercise or name}: not graded",
                    "score": 0.0,
                    "max_score": result["max_score"],
                    "status": "failed",
                    "output": result.get("detail") or result["status"],
                    "visibility": "visible",
                }
            )
    return {
        "output": "\n".join(output),
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def run(root: Path, course_dir: Path) -> dict:
    """Grade ``root/submission`` and write ``root/results/results.json``; returns it."""
    start = time.monotonic()
    config = json.loads((course_dir.parent / CONFIG).read_text())
    exercise = config.get("exercise")
    submitted = root / "submission"
    notebooks = sorted(
        p for p in submitted.rglob("*.ipynb") if p.is_file() and ".ipynb_checkpoints" not in p.parts
    )
    if exercise:
        named = [p for p in notebooks if exercise_for(p, course_dir) == exercise]
        notebooks = named or notebooks[:1]  # one notebook under another name is graded too
    grader = Grader(course_dir, Limits(float(config.get("timeout", 120))), hide=[submitted])
    with grader:
        results = [grader.grade(p, exercise) for p in notebooks]
    report = results_json(results, grader, config.get("hidden_visibility", "after_due_date"))
    if not notebooks:
        expected = f"{exercise}.ipynb" if exercise else "an exercise notebook (.ipynb)"
        report["score"] = 0.0
        report["output"] = f"No notebook found in the submission; upload {expected}."
    report["execution_time"] = round(time.monotonic() - start, 1)
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading.gradescope")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="write the autograder zip")
    make.add_argument("--out", type=Path, default=Path("build/gradescope/autograder.zip"))
    make.add_argument("--exercise", help="grade every upload as this exercise")
    make.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_due_date")
    make.add_argument("--course-dir", type=Path, default=COURSE_DIR, help=argparse.SUPPRESS)
    grade = sub.add_parser("run", help="what run_autograder calls on Gradescope")
    grade.add_argument("--root", type=Path, default=Path("/autograder"))
    grade.add_argument("--course-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            out = build(args.out, args.course_dir, args.exercise, args.hidden_visibility)
        except ValueError as error:
            parser.error(str(error))
        print(f"Gradescope autograder: {out} ({out.stat().st_size / 1e6:.1f} MB)")
        return 0
    report = run(args.root, args.course_dir)
    print(json.dumps({"tests": len(report["tests"]), "output": report["output"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
