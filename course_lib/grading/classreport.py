"""The class at a glance: pass rate per test, score distribution per exercise, what to re-teach.

Counted per student: each student's submission that counts (the best, as in the gradebook),
after late penalties and overrides. Written to a folder: ``pass_rates.csv``,
``score_distribution.png`` and ``class_report.html`` (which also prints as text with
``summary_text``).
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass
from pathlib import Path

from .report import best_by_student

# A test that fewer than this share of the class passes is worth going over again.
RETEACH_BELOW = 0.5


@dataclass(frozen=True)
class PassRate:
    exercise: str
    test: str
    passed: int
    students: int

    @property
    def rate(self) -> float:
        return self.passed / self.students if self.students else 0.0


def counted(results: list[dict]) -> dict[str, list[dict]]:
    """exercise -> the submission that counts for each student who handed it in."""
    per_exercise: dict[str, list[dict]] = {}
    for mine in best_by_student(results).values():
        for exercise, result in mine.items():
            if exercise != "?":
                per_exercise.setdefault(exercise, []).append(result)
    return dict(sorted(per_exercise.items()))


def pass_rates(results: list[dict]) -> list[PassRate]:
    """Every test of every exercise with how many students passed it, in the notebook's order."""
    rates = []
    for exercise, mine in counted(results).items():
        names: list[str] = []
        for result in mine:
            names += [t["name"] for t in result["tests"] if t["name"] not in names]
        for name in names:
            passed = sum(
                any(t["name"] == name and t["passed"] for t in result["tests"]) for result in mine
            )
            rates.append(PassRate(exercise, name, passed, len(mine)))
    return rates


def hardest(rates: list[PassRate], limit: int = 5) -> list[PassRate]:
    """The tests most students fail (pass rate below ``RETEACH_BELOW``), worst first."""
    low = [r for r in rates if r.rate < RETEACH_BELOW]
    return sorted(low, key=lambda r: (r.rate, r.exercise, r.test))[:limit]


def plot_distribution(results: list[dict], file: Path) -> None:
    """One histogram per exercise of the students' scores, on the exercise's point scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_exercise = counted(results)
    count = max(1, len(per_exercise))
    cols = min(4, count)
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for ax, (exercise, mine) in zip(axes.flat, per_exercise.items(), strict=False):
        top = max(r["max_score"] for r in mine) or 1.0
        bins = [i * 0.5 - 0.25 for i in range(int(top * 2) + 2)]
        ax.hist([r["score"] for r in mine], bins=bins, color="#3b6ea5", edgecolor="white")
        ax.set_title(f"{exercise} (n={len(mine)})", fontsize=9)
        ax.set_xlabel(f"score (of {top:g})")
        ax.set_ylabel("students")
        ax.set_xlim(-0.5, top + 0.5)
    for ax in list(axes.flat)[len(per_exercise) :]:
        ax.axis("off")
    fig.suptitle("Score distribution per exercise")
    fig.tight_layout()
    fig.savefig(file, dpi=100)
    plt.close(fig)


def summary_text(results: list[dict]) -> str:
    """A few lines: students, mean score per exercise, the tests to re-teach."""
    per_exercise = counted(results)
    students = len(best_by_student(results))
    lines = [f"{students} students, {len(per_exercise)} exercises"]
    for exercise, mine in per_exercise.items():
        mean = sum(r["score"] for r in mine) / len(mine)
        full = sum(r["score"] >= r["max_score"] > 0 for r in mine)
        lines.append(
            f"  {exercise}: {len(mine)} handed in, mean {mean:.2f}/{mine[0]['max_score']:g}, "
            f"{full} full marks"
        )
    worst = hardest(pass_rates(results))
    if worst:
        lines.append("Most students fail (re-teach these):")
        lines += [
            f"  {r.exercise}: {r.test} passed by {r.passed}/{r.students} ({r.rate:.0%})"
            for r in worst
        ]
    else:
        lines.append(f"No test is failed by more than {1 - RETEACH_BELOW:.0%} of the class.")
    return "\n".join(lines)


def write_class_report(results: list[dict], folder: Path) -> list[Path]:
    """``pass_rates.csv``, ``score_distribution.png`` and ``class_report.html`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rates = pass_rates(results)
    table = folder / "pass_rates.csv"
    with open(table, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["exercise", "test", "passed", "students", "pass_rate"])
        for r in rates:
            writer.writerow([r.exercise, r.test, r.passed, r.students, f"{r.rate:.3f}"])
    figure = folder / "score_distribution.png"
    plot_distribution(results, figure)
    e = html.escape
    worst = set(hardest(rates))
    rows = "\n".join(
        f"<tr{' class=low' if r in worst else ''}><td>{e(r.exercise)}</td><td>{e(r.test)}</td>"
        f"<td>{r.passed}/{r.students}</td><td>{r.rate:.0%}</td></tr>"
        for r in rates
    )
    page = folder / "class_report.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Class report</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}"
        ".low{background:#fde2e2}img{max-width:100%}</style></head><body>"
        "<h1>Class report</h1>"
        f"<pre>{e(summary_text(results))}</pre>"
        f"<img src='{figure.name}' alt='score distribution per exercise'>"
        "<h2>Pass rate per test</h2>"
        "<table><tr><th>exercise</th><th>test</th><th>passed</th><th>rate</th></tr>"
        f"{rows}</table></body></html>",
        encoding="utf-8",
    )
    return [table, figure, page]
