"""Generate ``exercises/`` from ``solutions/`` (``make exercises``).

Each answer region (``### BEGIN SOLUTION`` .. ``### END SOLUTION``) becomes a stub that
raises ``NotImplementedError``; hidden tests (``### BEGIN HIDDEN TESTS`` ..
``### END HIDDEN TESTS``) are removed; outputs and execution counts are cleared.
``--check`` reports, without writing, whether ``exercises/`` is up to date.
``--learner-copy`` (run by ``make lab``) copies each exercise a learner does not have yet into
``my_work/``, where they work: ``exercises/`` stays the course's pristine copy.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

COURSE_DIR = Path(__file__).resolve().parents[2]
STUB = 'raise NotImplementedError("Replace this line with your answer.")'
_REGION = r"^([ \t]*)### BEGIN {0}[^\n]*\n.*?^[ \t]*### END {0}[^\n]*(\n|$)"
_SOLUTION = re.compile(_REGION.format("SOLUTION"), re.M | re.S)
_HIDDEN = re.compile(_REGION.format("HIDDEN TESTS"), re.M | re.S)


def strip_source(source: str) -> str:
    """Replace answers with stubs and drop hidden tests in one cell's source."""
    source = _SOLUTION.sub(
        lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}{STUB}{m.group(2)}", source
    )
    return _HIDDEN.sub("", source).rstrip("\n")


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def make_exercise(solution: dict) -> dict:
    """The learner's notebook for an instructor notebook (both as JSON dicts)."""
    nb = copy.deepcopy(solution)
    for cell in nb["cells"]:
        source = "".join(cell.get("source", []))
        if cell["cell_type"] == "code":
            cell["source"] = _lines(strip_source(source))
            cell["outputs"] = []
            cell["execution_count"] = None
        elif "### BEGIN" in source:
            cell["source"] = _lines(strip_source(source))
    nb["metadata"].setdefault("course", {})["role"] = "exercise"
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(course_dir: Path = COURSE_DIR) -> dict[Path, str]:
    """Every file of ``exercises/`` as it should be: path -> text."""
    out = {}
    for path in sorted((course_dir / "solutions").glob("*.ipynb")):
        out[course_dir / "exercises" / path.name] = dumps(
            make_exercise(json.loads(path.read_text()))
        )
    return out


def stale(course_dir: Path = COURSE_DIR) -> list[str]:
    """Exercise files that differ from what ``make exercises`` would write (or should not exist)."""
    wanted = generate(course_dir)
    problems = [
        f"{p.name}: out of date"
        for p, text in wanted.items()
        if not p.exists() or p.read_text() != text
    ]
    problems += [
        f"{p.name}: no solution notebook for it"
        for p in (course_dir / "exercises").glob("*.ipynb")
        if p not in wanted
    ]
    return problems


#: Where a learner works: ``make lab`` copies each exercise here, and never over their work.
LEARNER_DIR = "my_work"


def learner_copy(course_dir: Path = COURSE_DIR, folder: str = LEARNER_DIR) -> list[Path]:
    """Copy every exercise that ``folder`` (git-ignored) does not hold yet into it; return the
    copies made. A learner's notebook there is never overwritten, so their work survives a
    pull, ``make exercises`` and ``make test`` (which only look at ``exercises/``)."""
    target = course_dir / folder
    target.mkdir(exist_ok=True)
    made = []
    for exercise in sorted((course_dir / "exercises").glob("*.ipynb")):
        copy = target / exercise.name
        if not copy.exists():
            copy.write_bytes(exercise.read_bytes())
            made.append(copy)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument(
        "--learner-copy",
        action="store_true",
        help=f"copy the exercises a learner does not have yet into {LEARNER_DIR}/",
    )
    args = parser.parse_args(argv)
    if args.learner_copy:
        made = learner_copy()
        if made:
            print(f"copied {len(made)} new exercise(s) into {LEARNER_DIR}/: work there")
        return 0
    if args.check:
        problems = stale()
        for problem in problems:
            print(f"exercises/{problem} (run `make exercises`)")
        return 1 if problems else 0
    wanted = generate()
    for path in (COURSE_DIR / "exercises").glob("*.ipynb"):
        if path not in wanted:
            path.unlink()
    for path, text in wanted.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(wanted)} exercise notebooks to exercises/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
