"""The course's one learning-rate schedule: a linear warm-up, then constant, a linear or cosine
decay, or ``1/sqrt(step)``.

Adam's first updates move *every* parameter by about the learning rate, whatever the size of
its gradient, so a large learning rate from step 1 can throw a fresh transformer far off;
warm-up lets Adam's second-moment estimates settle first. Decay lets training settle at the end.
"""

from __future__ import annotations

import math

from course_lib.core.shapes import expect_positive_int

DECAYS = ("none", "linear", "cosine", "rsqrt")


def lr_factor(
    step: int, steps: int, warmup: int = 0, decay: str = "none", final: float = 0.0
) -> float:
    """The learning rate of optimizer step ``step`` (1, 2, ..., ``steps``) as a fraction of
    the peak: ``step / warmup`` during the ``warmup`` steps, then

    - ``"none"``: 1;
    - ``"linear"``: from 1 (the step after warm-up) to ``final`` (the last step);
    - ``"cosine"``: half a cosine from 1 (at the end of warm-up) to 0 (the last step);
    - ``"rsqrt"``: ``sqrt(warmup / step)`` (the original transformer's schedule).
    """
    expect_positive_int(step, "step")
    expect_positive_int(steps, "steps")
    expect_positive_int(warmup, "warmup", minimum=0)
    if decay not in DECAYS:
        raise ValueError(f"decay: expected one of {DECAYS}, got {decay!r}")
    warm = min(1.0, step / warmup) if warmup else 1.0
    if decay == "rsqrt" and step > warmup:
        return math.sqrt(max(warmup, 1) / step)
    if decay == "cosine":
        start = max(warmup, 1)
        progress = min(1.0, max(0.0, (step - start) / max(steps - start, 1)))
        return warm * 0.5 * (1 + math.cos(math.pi * progress))
    if decay == "linear":
        start = warmup + 1
        progress = min(1.0, max(0.0, (step - start) / max(steps - start, 1)))
        return warm * (1 + (final - 1) * progress)
    return warm
