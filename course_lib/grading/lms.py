"""Submissions as learning-management systems hand them over, and grades in the form they import.

In (what ``course-grade`` accepts as a folder):

- **Folders** (``SUBMISSIONS/<student>/.../<exercise>.ipynb``): the student is the first folder.
- **Canvas** "Download Submissions": one flat folder of files named, as Canvas's
  ``ContentZipper`` writes them, ``<sortable name>[_LATE]_<user id>_<file id>_<file name>``:
  the sortable name ("Doe, Jane") lower-cased with everything but letters, digits and ``_``
  removed (``doejane``); ``LATE`` when Canvas counted the submission late; the Canvas user id;
  the id of the uploaded file; the name the student uploaded it under (a re-upload of the same
  name gets ``-1``, ``-2`` on it). Anonymous grading writes ``anon_<id>`` instead of name and id.
- **Moodle** "Download all submissions": a folder per student and plugin,
  ``<Full Name>_<participant id>_assignsubmission_file_/<file name>`` (Moodle ≥ 3.1, the
  default), or flat files ``<Full Name>_<participant id>_assignsubmission_file_<file name>``
  (downloaded without folders). Blind marking writes ``Participant`` for the name; group
  mode puts ``<group>-`` in front of it.

Every file is either mapped to a student and an exercise or listed with the reason it could
not be; none is dropped.

Out (``--lms-csv``):

- **Canvas** gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section`` and one
  column per assignment, named ``Assignment name (assignment id)`` when the id is given
  (``--lms-assignment EXERCISE='Name (1234)'``) so Canvas updates that assignment; rows are
  matched by ``ID``, the Canvas user id from the download.
- **Moodle** offline grading worksheet (the assignment's "Upload grading worksheet"): the
  importer needs the columns ``Identifier`` (``Participant <id>``), ``Grade`` and
  ``Last modified (grade)``; ``Full name``, ``Maximum Grade`` and ``Feedback comments`` are
  written too. One worksheet per exercise (a Moodle assignment is one exercise).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from .grade import exercise_for
from .report import best_by_student

LAYOUTS = ("auto", "folders", "canvas", "moodle")

# <name>[_LATE]_<user id>_<file id>_<original>; the name is non-greedy so an id never ends up in it.
_CANVAS = re.compile(
    r"^(?P<name>[^\W_](?:\w*?[^\W_])?)_(?P<late>LATE_)?(?P<user>\d+)_(?P<file>\d+)_(?P<original>.+)$",
    re.IGNORECASE,
)
_CANVAS_ANON = re.compile(
    r"^(?P<late>LATE_)?(?P<user>anon_[A-Za-z0-9]+)_(?P<file>\d+)_(?P<original>.+)$",
    re.IGNORECASE,
)
_MOODLE_PREFIX = r"(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_"
_MOODLE_FOLDER = re.compile(f"^{_MOODLE_PREFIX}$")
_MOODLE_FLAT = re.compile(f"^{_MOODLE_PREFIX}(?P<original>.+)$")


@dataclass(frozen=True)
class Submission:
    """One file of a download: who sent it, as what, and what the LMS says about it."""

    path: Path
    student: str  # the key used in gradebooks and feedback file names
    original: str  # the file name as the student uploaded it
    exercise: str | None = None  # None: no exercise matches the original name
    layout: str = "folders"
    lms_id: str = ""  # Canvas user id or Moodle participant id
    name: str = ""  # the name the LMS wrote (Canvas: squashed sortable name)
    late: bool | None = None  # Canvas's LATE marker (None: the LMS says nothing)
    problem: str = ""  # why it could not be mapped ("" when it was)

    def lms(self) -> dict:
        """What the LMS recorded, for the JSON output."""
        if self.layout == "folders":
            return {}
        info = {"layout": self.layout, "id": self.lms_id, "name": self.name}
        info["original"] = self.original
        if self.late is not None:
            info["late"] = self.late
        return info


@dataclass
class Download:
    """What was found: submissions to grade (every notebook) and files that are not notebooks."""

    submissions: list[Submission] = field(default_factory=list)

    @property
    def unmapped(self) -> list[Submission]:
        return [s for s in self.submissions if s.problem]


def detect(folder: Path) -> str:
    """The layout of a submissions folder: ``moodle``, ``canvas`` or ``folders``."""
    top = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if any(_MOODLE_FOLDER.match(p.name) or _MOODLE_FLAT.match(p.name) for p in top):
        return "moodle"
    files = [p for p in top if p.is_file()]
    canvas = [p for p in files if _canvas_match(p.name)]
    if canvas and len(canvas) * 2 >= len(files) and not any(p.is_dir() for p in top):
        return "canvas"
    return "folders"


def _canvas_match(name: str) -> re.Match | None:
    return _CANVAS_ANON.match(name) or _CANVAS.match(name)


def _files(folder: Path) -> list[Path]:
    """Every file below ``folder``, checkpoints and hidden files skipped, in a stable order."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and ".ipynb_checkpoints" not in p.parts
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _mapped(sub: Submission, course_dir: Path, forced: str | None) -> Submission:
    """``sub`` with its exercise (from the original name, or ``forced``) and any problem."""
    if sub.problem:
        return sub
    if not sub.original.endswith(".ipynb"):
        kind = Path(sub.original).suffix or "no extension"
        return replace(sub, problem=f"not a notebook ({kind}): not graded")
    exercise = forced or exercise_for(Path(sub.original), course_dir)
    if exercise is None:
        return replace(sub, problem=f"no exercise matches the file name {sub.original!r}")
    return replace(sub, exercise=exercise)


def _canvas(path: Path) -> Submission:
    match = _canvas_match(path.name)
    if match is None:
        return Submission(
            path,
            path.parent.name,
            path.name,
            layout="canvas",
            problem="the name does not follow Canvas's <name>_<user id>_<file id>_<file> layout",
        )
    groups = match.groupdict()
    name = groups.get("name") or groups["user"]
    return Submission(
        path,
        f"{name}_{groups['user']}" if groups.get("name") else groups["user"],
        groups["original"],
        layout="canvas",
        lms_id=groups["user"],
        name=name,
        late=bool(groups["late"]),
    )


def _moodle(path: Path, folder: Path) -> Submission:
    first = path.relative_to(folder).parts[0]
    nested = path.parent != folder
    match = (_MOODLE_FOLDER if nested else _MOODLE_FLAT).match(first)
    if match is None:
        return Submission(
            path,
            first if nested else folder.name,
            path.name,
            layout="moodle",
            problem="the name does not follow Moodle's "
            "<Full Name>_<id>_assignsubmission_<plugin>_ layout",
        )
    name, participant = match["name"], match["participant"]
    original = path.name if nested else match["original"]
    sub = Submission(
        path,
        f"{name}_{participant}",
        original,
        layout="moodle",
        lms_id=participant,
        name=name,
    )
    if match["plugin"] != "file":
        return replace(sub, problem=f"Moodle {match['plugin']} submission, not a file: not graded")
    return sub


def collect(
    paths: list[Path], course_dir: Path, layout: str = "auto", exercise: str | None = None
) -> Download:
    """Every file to grade or to report, with its student and exercise, in a stable order.

    A notebook given directly belongs to the folder it is in. A folder is read in ``layout``
    (``auto``: detected per folder). In the plain folder layout only notebooks are taken (a
    class folder may hold data files); in an LMS download every file is a submission, and one
    that is not a notebook is reported as such.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    found = Download()
    for path in paths:
        if not path.is_dir():
            sub = Submission(path, path.resolve().parent.name, path.name)
            found.submissions.append(_mapped(sub, course_dir, exercise))
            continue
        kind = detect(path) if layout == "auto" else layout
        for file in _files(path):
            if kind == "canvas":
                sub = _canvas(file)
            elif kind == "moodle":
                sub = _moodle(file, path)
            elif file.suffix == ".ipynb":
                parts = file.relative_to(path).parts
                student = parts[0] if len(parts) > 1 else path.resolve().name
                sub = Submission(file, student, file.name)
            else:
                continue
            found.submissions.append(_mapped(sub, course_dir, exercise))
    return found


# ---------------------------------------------------------------------------------------------
# Grades out


CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = [
    "Identifier",
    "Full name",
    "Grade",
    "Maximum Grade",
    "Last modified (grade)",
    "Feedback comments",
]


def _exercises(results: list[dict]) -> list[str]:
    return sorted({r["exercise"] for r in results if r.get("exercise")})


def _who(results: list[dict], layout: str) -> dict[str, dict]:
    """student -> the LMS record of their submissions in ``layout`` (first one seen)."""
    who: dict[str, dict] = {}
    for result in results:
        lms = result.get("lms") or {}
        if lms.get("layout") == layout and lms.get("id"):
            who.setdefault(result["student"], lms)
    return who


def write_canvas(
    results: list[dict], file: Path, labels: dict[str, str] | None = None
) -> list[str]:
    """A CSV for Canvas's gradebook import; returns the students left out (no Canvas user id)."""
    labels = labels or {}
    exercises = _exercises(results)
    who = _who(results, "canvas")
    best = best_by_student(results)
    left_out = sorted(s for s in best if s not in who or who[s]["id"].startswith("anon_"))
    with open(file, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CANVAS_COLUMNS + [labels.get(e, e) for e in exercises])
        for student in sorted(set(best) - set(left_out), key=lambda s: who[s]["name"]):
            mine = best[student]
            scores = [_points(mine[e]["score"]) if e in mine else "" for e in exercises]
            writer.writerow([who[student]["name"], who[student]["id"], "", "", "", *scores])
    return left_out


def moodle_paths(file: Path, exercises: list[str]) -> dict[str, Path]:
    """exercise -> the worksheet it goes to: ``file`` for one exercise, ``<stem>_<id>.csv`` else."""
    if len(exercises) == 1:
        return {exercises[0]: file}
    return {e: file.with_name(f"{file.stem}_{e}{file.suffix or '.csv'}") for e in exercises}


def write_moodle(results: list[dict], file: Path, now: datetime | None = None) -> list[str]:
    """Moodle grading worksheets (one per exercise); returns the students left out (no
    participant id). ``Last modified (grade)`` is ``now`` so Moodle does not skip the rows as
    older than its own grades."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    exercises = _exercises(results)
    who = _who(results, "moodle")
    best = best_by_student(results)
    left_out = sorted(s for s in best if s not in who)
    for exercise, path in moodle_paths(file, exercises).items():
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(MOODLE_COLUMNS)
            for student in sorted(s for s in best if s in who and exercise in best[s]):
                result = best[student][exercise]
                writer.writerow(
                    [
                        f"Participant {who[student]['id']}",
                        who[student]["name"],
                        _points(result["score"]),
                        _points(result["max_score"]),
                        stamp,
                        _comment(result),
                    ]
                )
    return left_out


def _points(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _comment(result: dict) -> str:
    """One line for the LMS: the score, the failed tests, and any late penalty or override."""
    failed = [t["name"] for t in result["tests"] if not t["passed"]]
    parts = [f"Autograded {_points(result['score'])}/{_points(result['max_score'])}"]
    parts.append(f"status {result['status']}")
    if failed:
        parts.append("failed: " + ", ".join(failed))
    for note in result.get("adjustments", []):
        parts.append(note)
    return "; ".join(parts)
