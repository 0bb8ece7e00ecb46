"""Gradebooks and feedback pages from the grader's results (one dict per submission)."""

from __future__ import annotations

import csv
import html
import zipfile
from collections import defaultdict
from pathlib import Path

STATUS_MEANING = {
    "graded": "the notebook ran to its end (a cell that failed is named in the messages)",
    "timeout": "stopped at the time limit (an endless loop or a very slow answer?)",
    "memory": "stopped at the memory limit",
    "output": "stopped after printing too much",
    "crashed": "the notebook's process died before the last cell",
    "invalid": "not a readable notebook, or a file name that matches no exercise",
    "error": "the grader itself failed on this file; tell your teacher",
}


def _exercises(results: list[dict]) -> list[str]:
    return sorted({r["exercise"] for r in results if r["exercise"]})


def counted_attempts(results: list[dict]) -> dict[str, dict[str, tuple[dict, str]]]:
    """student -> exercise -> (the submission that counts, why it counts, in words).

    The rule: the highest score (after any late penalty and override) counts; among equal
    scores, the first in the order the files were found (file-name order)."""
    attempts: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        attempts[result["student"]][result["exercise"] or "?"].append(result)
    counted: dict[str, dict[str, tuple[dict, str]]] = defaultdict(dict)
    for student, exercises in attempts.items():
        for exercise, mine in exercises.items():
            best = max(r["score"] for r in mine)
            chosen = next(r for r in mine if r["score"] == best)
            if len(mine) == 1:
                why = "your only submission of this exercise"
            else:
                ties = sum(r["score"] == best for r in mine)
                why = f"the highest score ({best:g}) of your {len(mine)} submissions"
                if ties > 1:
                    why += f"; {ties} of them scored that, the first in file-name order counts"
            counted[student][exercise] = (chosen, why)
    return counted


def best_by_student(results: list[dict]) -> dict[str, dict[str, dict]]:
    """student -> exercise -> the submission that counts (see ``counted_attempts``)."""
    return {
        student: {exercise: chosen for exercise, (chosen, _) in mine.items()}
        for student, mine in counted_attempts(results).items()
    }


FLAG_NAMES = {
    "duplicate_answer_cell": "duplicated answer cell",
    "syntax_error": "SyntaxError in an answer cell",
    "answer_error": "an answer cell raised an error",
    "extra_cells": "extra cells not graded",
}


def flag_summary(result: dict) -> str:
    """The result's flags in a few words each, with where (for the CSV files)."""
    parts = []
    for flag in result.get("flags", []):
        where = f"cell{'s' if len(flag.get('cells', [])) > 1 else ''} "
        where += ", ".join(str(n) for n in flag.get("cells", []))
        if flag.get("line"):
            where += f", line {flag['line']}"
        parts.append(f"{FLAG_NAMES.get(flag['kind'], flag['kind'])} ({where})")
    return "; ".join(parts)


def write_gradebook(results: list[dict], file: Path) -> None:
    """One row per student: the best score of each exercise, the total, and any problems."""
    exercises = _exercises(results)
    max_scores = {r["exercise"]: r["max_score"] for r in results if r["exercise"]}
    with open(file, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *exercises, "total", "max_total", "submissions", "problems"])
        for student, mine in sorted(best_by_student(results).items()):
            problems = [
                f"{r['exercise'] or Path(r['submission']).name}: "
                + ", ".join(
                    ([r["status"]] if r["status"] != "graded" else [])
                    + [FLAG_NAMES.get(f["kind"], f["kind"]) for f in r.get("flags", [])]
                )
                for r in results
                if r["student"] == student and (r["status"] != "graded" or r.get("flags"))
            ]
            scores = [mine[e]["score"] if e in mine else "" for e in exercises]
            submitted = sum(r["student"] == student for r in results)
            writer.writerow(
                [
                    student,
                    *scores,
                    sum(s for s in scores if s != ""),
                    sum(max_scores.values()),
                    submitted,
                    "; ".join(problems),
                ]
            )


def write_test_details(results: list[dict], file: Path) -> None:
    """One row per submission, one column per test (``exercise:test``), total and status."""
    columns: list[str] = []
    for result in results:
        for test in result["tests"]:
            column = f"{result['exercise']}:{test['name']}"
            if column not in columns:
                columns.append(column)
    with open(file, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "student",
                "submission",
                "exercise",
                *columns,
                "score",
                "max_score",
                "status",
                "flags",
                "seconds",
            ]
        )
        for result in results:
            points = {f"{result['exercise']}:{t['name']}": t["points"] for t in result["tests"]}
            writer.writerow(
                [
                    result["student"],
                    result["submission"],
                    result["exercise"],
                    *[points.get(c, "") for c in columns],
                    result["score"],
                    result["max_score"],
                    result["status"],
                    flag_summary(result),
                    result["seconds"],
                ]
            )


def details_path(gradebook: Path) -> Path:
    """Where the per-test CSV goes next to ``gradebook.csv``: ``gradebook_tests.csv``."""
    return gradebook.with_name(f"{gradebook.stem}_tests{gradebook.suffix or '.csv'}")


_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;"
    "text-align:left;vertical-align:top}.ok{color:#060}.no{color:#a00}"
    "pre{white-space:pre-wrap;margin:0;font-size:95%}.total{font-size:1.3em}"
    ".flag{background:#fff4e0;border-left:4px solid #e90;padding:4px 8px;margin:4px 0}"
    ".hint{color:#036}"
)


def _check_lines(test: dict) -> str:
    """A test's checks as the notebook prints them: ``✔ name``, or ``✘ name: problem`` and
    its ``Hint:`` line (HTML, escaped)."""
    e = html.escape
    checks = test.get("checks")
    if checks is None:  # a result from before checks were kept: its message
        return "" if test["passed"] else f"<pre>{e(test['message'])}</pre>"
    lines = []
    for check in checks:
        if check["passed"]:
            lines.append(f"<span class='ok'>\u2714 {e(check['name'])}</span>")
            continue
        lines.append(f"<span class='no'>\u2718 {e(check['name'])}: {e(check['problem'])}</span>")
        if check.get("hint"):
            lines.append(f"<span class='hint'>Hint: {e(check['hint'])}</span>")
    return "<pre>" + "\n".join(lines) + "</pre>"


def _attempt_html(r: dict, heading: str) -> list[str]:
    e = html.escape
    status = f"{r['status']}: {STATUS_MEANING.get(r['status'], '')}"
    parts = [
        heading,
        f"<p>File <code>{e(Path(r['submission']).name)}</code>; status <b>{e(status)}</b></p>",
    ]
    flagged = {f["message"] for f in r.get("flags", [])}
    notes = [n for n in (r.get("detail") or "").split("; ") if n and n not in flagged]
    parts += [f"<div class='flag'>{e(f['message'])}</div>" for f in r.get("flags", [])]
    if notes:
        parts.append(f"<p>{e('; '.join(notes))}</p>")
    if r["tests"]:
        parts.append("<table><tr><th>test</th><th>points</th><th>checks</th></tr>")
        for t in r["tests"]:
            title = t.get("title") or t["name"]
            mark = "<span class='ok'>passed</span>" if t["passed"] else ""
            parts.append(
                f"<tr><td>{e(title)}</td><td>{t['points']:g} / {t['max_points']:g}</td>"
                f"<td>{mark}{_check_lines(t)}</td></tr>"
            )
        parts.append("</table>")
    return parts


def feedback_html(student: str, results: list[dict]) -> str:
    """A self-contained page for one student: the total at the top, then per exercise the
    submission that counts (and why), each test by its title with its checks and hints as
    the notebook shows them, and anything the grader flagged; other attempts below."""
    e = html.escape
    counted = counted_attempts(results).get(student, {})
    total = sum(r["score"] for r, _ in counted.values())
    max_total = sum(r["max_score"] for r, _ in counted.values())
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Feedback for {e(student)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Feedback for {e(student)}</h1>",
        f"<p class='total'>Total: <b>{total:g} / {max_total:g}</b> points "
        f"over {len(counted)} exercise{'s' if len(counted) != 1 else ''}</p>",
        "<table><tr><th>exercise</th><th>score</th><th>submission that counts</th></tr>",
    ]
    for exercise, (r, why) in sorted(counted.items()):
        parts.append(
            f"<tr><td><a href='#{e(exercise)}'>{e(exercise)}</a></td>"
            f"<td>{r['score']:g} / {r['max_score']:g}</td>"
            f"<td><code>{e(Path(r['submission']).name)}</code>: {e(why)}</td></tr>"
        )
    parts.append("</table>")
    for exercise, (r, why) in sorted(counted.items()):
        parts += _attempt_html(
            r,
            f"<h2 id='{e(exercise)}'>{e(exercise if exercise != '?' else 'unknown exercise')}"
            f" &mdash; {r['score']:g} / {r['max_score']:g}</h2>"
            f"<p>This submission counts: {e(why)}.</p>",
        )
        others = [o for o in results if (o["exercise"] or "?") == exercise and o is not r]
        for other in sorted(others, key=lambda o: o["submission"]):
            parts.append("<details><summary>Another submission (does not count): "
                         f"<code>{e(Path(other['submission']).name)}</code>, "
                         f"{other['score']:g} / {other['max_score']:g}</summary>")  # fmt: skip
            parts += _attempt_html(other, "")
            parts.append("</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def safe_name(student: str) -> str:
    """A student's key as a file or folder name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in student).strip(".") or "unknown"


def write_feedback(results: list[dict], folder: Path) -> list[Path]:
    """The files to hand back, one set per student: ``folder/<student>/index.html`` (the
    page) and ``folder/<student>.zip`` (the same page as ``<student>/index.html``, to attach
    or upload). For submissions from a Moodle download also ``folder/moodle_feedback.zip``,
    for the assignment's "Upload multiple feedback files in a zip": one folder per
    participant, named as in Moodle's download (``Full Name_12345_assignsubmission_file_``),
    holding ``feedback.html``. Returns the pages written."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[dict]] = defaultdict(list)
    for result in results:
        by_student[result["student"]].append(result)
    written, moodle = [], {}
    for student, mine in sorted(by_student.items()):
        page = feedback_html(student, mine)
        safe = safe_name(student)
        path = folder / safe / "index.html"
        path.parent.mkdir(exist_ok=True)
        path.write_text(page)
        with zipfile.ZipFile(folder / f"{safe}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{safe}/index.html", page)
        written.append(path)
        lms = next((r["lms"] for r in mine if r.get("lms", {}).get("layout") == "moodle"), None)
        if lms and lms.get("id") and lms.get("name"):
            moodle[f"{lms['name']}_{lms['id']}_assignsubmission_file_/feedback.html"] = page
    if moodle:
        with zipfile.ZipFile(folder / "moodle_feedback.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for name, page in sorted(moodle.items()):
                zf.writestr(name, page)
    return written
