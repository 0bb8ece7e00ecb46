"""Gradebooks and feedback pages from the grader's results (one dict per submission)."""

from __future__ import annotations

import csv
import html
from collections import defaultdict
from pathlib import Path

STATUS_MEANING = {
    "graded": "every cell ran",
    "timeout": "stopped at the time limit (an endless loop or a very slow answer?)",
    "memory": "stopped at the memory limit",
    "output": "stopped after printing too much",
    "crashed": "the notebook's process died before the last cell",
    "invalid": "not a readable notebook, or a file name that matches no exercise",
    "error": "the grader itself failed on this file; tell your teacher",
}


def _exercises(results: list[dict]) -> list[str]:
    return sorted({r["exercise"] for r in results if r["exercise"]})


def best_by_student(results: list[dict]) -> dict[str, dict[str, dict]]:
    """student -> exercise -> the best-scoring submission (ties: the first)."""
    best: dict[str, dict[str, dict]] = defaultdict(dict)
    for result in results:
        mine = best[result["student"]]
        exercise = result["exercise"] or "?"
        if exercise not in mine or result["score"] > mine[exercise]["score"]:
            mine[exercise] = result
    return best


def write_gradebook(results: list[dict], file: Path) -> None:
    """One row per student: the best score of each exercise, the total, and any problems."""
    exercises = _exercises(results)
    max_scores = {r["exercise"]: r["max_score"] for r in results if r["exercise"]}
    with open(file, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *exercises, "total", "max_total", "submissions", "problems"])
        for student, mine in sorted(best_by_student(results).items()):
            problems = [
                f"{r['exercise'] or Path(r['submission']).name}: {r['status']}"
                for r in results
                if r["student"] == student and r["status"] != "graded"
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
                    result["seconds"],
                ]
            )


def details_path(gradebook: Path) -> Path:
    """Where the per-test CSV goes next to ``gradebook.csv``: ``gradebook_tests.csv``."""
    return gradebook.with_name(f"{gradebook.stem}_tests{gradebook.suffix or '.csv'}")


def feedback_html(student: str, results: list[dict]) -> str:
    """A self-contained page for one student: each submission, each test, why it failed."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Feedback for {e(student)}</title><style>",
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left;vertical-align:top}.ok{color:#060}.no{color:#a00}"
        "pre{white-space:pre-wrap;margin:0}",
        "</style></head><body>",
        f"<h1>Feedback for {e(student)}</h1>",
    ]
    for r in sorted(results, key=lambda r: (r["exercise"] or "", r["submission"])):
        status = f"{r['status']}: {STATUS_MEANING.get(r['status'], '')}"
        parts += [
            f"<h2>{e(r['exercise'] or 'unknown exercise')} &mdash; "
            f"{r['score']:g} / {r['max_score']:g}</h2>",
            f"<p>File <code>{e(Path(r['submission']).name)}</code>; status <b>{e(status)}</b>"
            + (f"<br>{e(r['detail'])}" if r.get("detail") else "")
            + "</p>",
        ]
        if r["tests"]:
            parts.append("<table><tr><th>test</th><th>points</th><th>result</th></tr>")
            for t in r["tests"]:
                mark = (
                    "<span class='ok'>passed</span>"
                    if t["passed"]
                    else (f"<span class='no'>failed</span><pre>{e(t['message'])}</pre>")
                )
                parts.append(
                    f"<tr><td>{e(t['name'])}</td><td>{t['points']:g} / "
                    f"{t['max_points']:g}</td><td>{mark}</td></tr>"
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_feedback(results: list[dict], folder: Path) -> list[Path]:
    """One ``<student>.html`` per student in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[dict]] = defaultdict(list)
    for result in results:
        by_student[result["student"]].append(result)
    written = []
    for student, mine in sorted(by_student.items()):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in student) or "unknown"
        path = folder / f"{safe}.html"
        path.write_text(feedback_html(student, mine))
        written.append(path)
    return written
