"""The challenges of attention the course names, each tied to its remedy and to a number the
course measured (lesson 07's closing table).

The numbers come from ``benchmarks/results.json``, written by ``make bench`` as it runs each
lesson; numbers measured in the running notebook can be passed in and take precedence.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from course_lib.record import read_results


@dataclass(frozen=True)
class Challenge:
    """One challenge: what goes wrong, the remedies and where they are taught, and the evidence —
    ``(lesson, template)`` pairs whose ``{metric:format}`` fields name that lesson's metrics."""

    name: str
    problem: str
    remedies: str
    evidence: tuple[tuple[str, str], ...]


CHALLENGES: tuple[Challenge, ...] = (
    Challenge(
        "Computational cost",
        "every query scores every key: time grows with $n^2$",
        "local and sparse patterns (02, 03, 07), linear attention (07)",
        (
            ("03", "naive attention's time ~ $n^{{{attention_time_exponent:.2f}}}$"),
            ("02", "local attention {long_local_attention_speedup_n2048:.0f}x faster at n = 2048"),
            ("07", "linear attention's time ~ $n^{{{linear_attention_time_exponent:.2f}}}$"),
        ),
    ),
    Challenge(
        "Memory",
        "the $(n, n)$ weights, and every layer's activations kept for the backward pass",
        "fused / tiled exact attention (03, 07), gradient checkpointing, splitting a layer "
        "across processes (07)",
        (
            ("03", "fused SDPA needs {sdpa_memory_saving_n2048:.0f}x less at n = 2048"),
            ("07", "tiled attention {tiled_memory_ratio_n8192:.0f}x less than naive at n = 8192"),
            ("07", "checkpointing: {checkpoint_memory_ratio:.1f}x less training memory"),
        ),
    ),
    Challenge(
        "Over-fitting",
        "attention can lock onto a few exact positions and memorise noise",
        "dropout on the attention weights (03)",
        (
            (
                "03",
                "validation loss {attention_dropout_val_loss_ratio:.2f}x lower with attention "
                "dropout (noisy labels, one seed)",
            ),
        ),
    ),
    Challenge(
        "Instability",
        "runs that diverge or stay at chance; high-variance gradients for hard attention",
        "learning-rate warm-up and gradient clipping (03); baselines for REINFORCE (05)",
        (
            ("03", "warm-up: +{warmup_accuracy_gain:.2f} validation accuracy (one seed)"),
            ("05", "a learned baseline cuts gradient variance {reinforce_variance_ratio:.1f}x"),
        ),
    ),
    Challenge(
        "Implementation complexity",
        "masks, heads, tiles and processes are easy to get subtly wrong",
        "small code checked against a reference implementation (every lesson)",
        (
            ("03", "our multi-head attention = torch's to {mha_vs_torch_max_abs_diff:.0e}"),
            ("07", "tiled attention = SDPA to {tiled_attention_max_abs_diff:.0e}"),
            ("07", "two-process attention = one process to {tensor_parallel_max_abs_diff:.0e}"),
        ),
    ),
    Challenge(
        "Interpretability",
        "an attention map looks like an explanation whether or not the model uses it",
        "test explanations with numbers: deletion test, pointing game (06)",
        (
            (
                "06",
                "deletion area: rollout {deletion_area_rollout:.2f}, last layer "
                "{deletion_area_attention:.2f}, random {deletion_area_random:.2f} (lower = more "
                "faithful)",
            ),
            (
                "06",
                "Grad-CAM's peak on the digit {gradcam_pointing_game:.0%}, centre baseline "
                "{centre_pointing_game:.0%}",
            ),
        ),
    ),
)


def metric_names(template: str) -> list[str]:
    """The metric names a template's ``{name:format}`` fields refer to."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def lesson_metrics(lesson: str, results: dict) -> dict[str, float]:
    """The metrics ``make bench`` recorded for ``lesson`` ("03") in ``results`` (the parsed
    ``benchmarks/results.json``); empty when the lesson has not been benchmarked."""
    if not isinstance(lesson, str) or len(lesson) != 2 or not lesson.isdigit():
        raise ValueError(f"lesson: expected two digits like '03', got {lesson!r}")
    lessons = results.get("lessons", {}) if isinstance(results, dict) else {}
    for stem, entry in lessons.items():
        if stem.startswith(f"{lesson}_"):
            return dict(entry.get("metrics", {}))
    return {}


def evidence_text(
    lesson: str, template: str, results: dict, current: dict[str, float] | None = None
) -> str:
    """``template`` filled with ``lesson``'s metrics (``current`` first, then ``results``); a
    metric nobody measured yet is named with the command that measures it."""
    known = lesson_metrics(lesson, results)
    known.update(current or {})
    missing = [name for name in metric_names(template) if name not in known]
    if missing:
        return f"not measured yet: {', '.join(missing)} (run `make bench LESSON={lesson}`)"
    return template.format(**known)


def challenges_table(
    current: dict[str, float] | None = None,
    results: dict | None = None,
    this_lesson: str = "07",
) -> str:
    """A Markdown table: challenge, what goes wrong, remedies (lessons), and what this course
    measured. ``current``: metrics measured in the running notebook (lesson ``this_lesson``);
    ``results``: parsed ``benchmarks/results.json`` (read from the repository if omitted)."""
    results = read_results() if results is None else results
    rows = [
        "| challenge | what goes wrong | remedy (lesson) | what this course measured |",
        "|---|---|---|---|",
    ]
    for challenge in CHALLENGES:
        parts = []
        for lesson, template in challenge.evidence:
            live = current if lesson == this_lesson else None
            parts.append(f"{evidence_text(lesson, template, results, live)} ({lesson})")
        measured = "; ".join(parts)
        rows.append(
            f"| **{challenge.name}** | {challenge.problem} | {challenge.remedies} | {measured} |"
        )
    return "\n".join(rows)
