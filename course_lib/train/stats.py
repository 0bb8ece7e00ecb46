"""Is this within noise? Error rates with their standard errors, and the paired test for two
models scored on the same examples (McNemar's, as a z score).

An error rate measured on ``n`` examples is itself a measurement: its standard error is
``sqrt(p (1 - p) / n)``. Two models scored on the *same* examples are compared on the examples
where they disagree — ``only_a`` wrong by A alone, ``only_b`` by B alone — because the examples
both get right or both get wrong say nothing about which is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_shape


def _outcomes(values: object, name: str) -> torch.Tensor:
    """A 1-D bool tensor (``True``: the event, e.g. a mistake) with at least one entry."""
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{name}: expected a bool tensor of outcomes, got {type(values).__name__}")
    if values.dtype != torch.bool:
        raise TypeError(f"{name}: expected dtype torch.bool (True = a mistake), got {values.dtype}")
    expect_shape(values, "n", name=name)
    if values.numel() == 0:
        raise ValueError(f"{name}: expected at least one outcome, got none")
    return values


@dataclass(frozen=True)
class Rate:
    """A rate measured on ``n`` examples and its standard error ``sqrt(p (1 - p) / n)``."""

    value: float
    se: float
    n: int

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """The approximate 95 % interval (``z`` = 1.96), clipped to [0, 1]."""
        return max(0.0, self.value - z * self.se), min(1.0, self.value + z * self.se)

    def __str__(self) -> str:
        return f"{self.value:.3f} ± {self.se:.3f}"


def rate(outcomes: torch.Tensor) -> Rate:
    """The rate of ``True`` in ``outcomes`` (n,) bool, with its standard error."""
    outcomes = _outcomes(outcomes, "outcomes")
    n = outcomes.numel()
    p = outcomes.float().mean().item()
    return Rate(p, math.sqrt(p * (1 - p) / n), n)


@dataclass(frozen=True)
class Paired:
    """Two error rates on the same ``n`` examples, and the paired test of their difference."""

    a: Rate
    b: Rate
    only_a: int  # examples A gets wrong and B right
    only_b: int  # examples B gets wrong and A right

    @property
    def n(self) -> int:
        return self.a.n

    @property
    def difference(self) -> float:
        """``a - b`` (negative: A makes fewer mistakes)."""
        return (self.only_a - self.only_b) / self.n

    @property
    def se(self) -> float:
        """Standard error of the difference, from the disagreements only."""
        d = self.only_a - self.only_b
        return math.sqrt(max(self.only_a + self.only_b - d * d / self.n, 0.0)) / self.n

    @property
    def z(self) -> float:
        """Difference / its standard error (0 when the models never disagree)."""
        return self.difference / self.se if self.se > 0 else 0.0

    @property
    def p_value(self) -> float:
        """Two-sided p-value of ``z`` under "the two models are equally good"."""
        return math.erfc(abs(self.z) / math.sqrt(2))

    def within_noise(self, level: float = 0.05) -> bool:
        """True if a difference this large happens by chance more often than ``level``."""
        return self.p_value >= level

    def __str__(self) -> str:
        verdict = "within noise" if self.within_noise() else "beyond noise"
        return (
            f"{self.a} vs {self.b}: difference {self.difference:+.3f} ± {self.se:.3f}, "
            f"z = {self.z:+.1f}, p = {self.p_value:.2g} ({verdict}; they disagree on "
            f"{self.only_a + self.only_b} of {self.n})"
        )


def paired(mistakes_a: torch.Tensor, mistakes_b: torch.Tensor) -> Paired:
    """Compare two models' ``mistakes`` (n,) bool on the same ``n`` examples."""
    mistakes_a = _outcomes(mistakes_a, "mistakes_a")
    mistakes_b = _outcomes(mistakes_b, "mistakes_b")
    if mistakes_a.shape != mistakes_b.shape:
        raise ValueError(
            f"mistakes_b: expected the same examples as mistakes_a, {tuple(mistakes_a.shape)}, "
            f"got {tuple(mistakes_b.shape)}"
        )
    only_a = int((mistakes_a & ~mistakes_b).sum())
    only_b = int((mistakes_b & ~mistakes_a).sum())
    return Paired(rate(mistakes_a), rate(mistakes_b), only_a, only_b)
