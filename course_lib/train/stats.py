"""Is this within noise? Error rates with their standard errors, and the paired test for two
models scored on the same examples (McNemar's, as a z score).

An error rate measured on ``n`` examples is itself a measurement: its standard error is
``sqrt(p (1 - p) / n)``. Two models scored on the *same* examples are compared on the examples
where they disagree — ``only_a`` wrong by A alone, ``only_b`` by B alone — because the examples
both get right or both get wrong say nothing about which is better.

When a test set holds several draws of the same underlying example (one test digit rotated ten
different ways), the draws are not independent: a hard digit is hard in every pose. Pass
``groups`` (n,) — which example each draw came from — and the standard errors treat each group
as one independent unit (the cluster-robust standard error of a mean), so ten draws of 1,000
digits are not mistaken for 10,000 independent digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_shape


def _groups(groups: object, n: int) -> torch.Tensor | None:
    """``None``, or a 1-D integer tensor of ``n`` group ids with at least two groups."""
    if groups is None:
        return None
    if not isinstance(groups, torch.Tensor) or groups.dtype not in (torch.int32, torch.int64):
        raise TypeError(
            "groups: expected an int64 tensor of group ids (which example each draw came from), "
            f"got {getattr(groups, 'dtype', type(groups).__name__)}"
        )
    if groups.shape != (n,):
        raise ValueError(
            f"groups: expected shape ({n},), one id per outcome, got {tuple(groups.shape)}"
        )
    if groups.unique().numel() < 2:
        raise ValueError("groups: expected at least two different groups, got one")
    return groups


def _se_of_mean(values: torch.Tensor, groups: torch.Tensor | None) -> tuple[float, int]:
    """Standard error of ``values.mean()`` (n,) and the number of groups (0: none).
    Independent values: ``sqrt(sum (x - mean)^2) / n`` (for 0/1 outcomes, ``sqrt(p (1 - p) / n)``);
    with ``groups``, the cluster-robust form: the residuals summed within each group,
    ``sqrt(G / (G - 1) * sum_g (sum_{i in g} (x_i - mean))^2) / n``."""
    residual = values.double() - values.double().mean()  # (n,)
    n = values.numel()
    if groups is None:
        return math.sqrt(float((residual**2).sum())) / n, 0
    ids, index = groups.unique(return_inverse=True)
    per_group = torch.zeros(len(ids), dtype=torch.float64).index_add_(0, index, residual)  # (G,)
    g = len(ids)
    return math.sqrt(g / (g - 1) * float((per_group**2).sum())) / n, g


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
    """A rate measured on ``n`` examples and its standard error: ``sqrt(p (1 - p) / n)``, or
    the cluster-robust one when the examples came in ``groups`` (their number; 0: none)."""

    value: float
    se: float
    n: int
    groups: int = 0

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """The approximate 95 % interval (``z`` = 1.96), clipped to [0, 1]."""
        return max(0.0, self.value - z * self.se), min(1.0, self.value + z * self.se)

    def __str__(self) -> str:
        return f"{self.value:.3f} ± {self.se:.3f}"


def rate(outcomes: torch.Tensor, groups: torch.Tensor | None = None) -> Rate:
    """The rate of ``True`` in ``outcomes`` (n,) bool, with its standard error; ``groups``
    (n,) int: which example each outcome was drawn from (several draws per example)."""
    outcomes = _outcomes(outcomes, "outcomes")
    n = outcomes.numel()
    se, count = _se_of_mean(outcomes, _groups(groups, n))
    return Rate(outcomes.double().mean().item(), se, n, count)


@dataclass(frozen=True)
class Paired:
    """Two error rates on the same ``n`` examples, and the paired test of their difference."""

    a: Rate
    b: Rate
    only_a: int  # examples A gets wrong and B right
    only_b: int  # examples B gets wrong and A right
    se: float  # standard error of the difference (from the disagreements; per group if grouped)

    @property
    def n(self) -> int:
        return self.a.n

    @property
    def difference(self) -> float:
        """``a - b`` (negative: A makes fewer mistakes)."""
        return (self.only_a - self.only_b) / self.n

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
            f"{self.only_a + self.only_b} of {self.n}{self._draws})"
        )

    @property
    def _draws(self) -> str:
        groups = self.a.groups
        return f" draws from {groups:,} examples" if groups else ""


def paired(
    mistakes_a: torch.Tensor, mistakes_b: torch.Tensor, groups: torch.Tensor | None = None
) -> Paired:
    """Compare two models' ``mistakes`` (n,) bool on the same ``n`` examples; ``groups`` (n,)
    int: which example each was drawn from, when there are several draws per example."""
    mistakes_a = _outcomes(mistakes_a, "mistakes_a")
    mistakes_b = _outcomes(mistakes_b, "mistakes_b")
    if mistakes_a.shape != mistakes_b.shape:
        raise ValueError(
            f"mistakes_b: expected the same examples as mistakes_a, {tuple(mistakes_a.shape)}, "
            f"got {tuple(mistakes_b.shape)}"
        )
    groups = _groups(groups, mistakes_a.numel())
    only_a = int((mistakes_a & ~mistakes_b).sum())
    only_b = int((mistakes_b & ~mistakes_a).sum())
    # per example: +1 A alone wrong, -1 B alone wrong, 0 when they agree
    difference = mistakes_a.double() - mistakes_b.double()  # (n,)
    return Paired(
        rate(mistakes_a, groups),
        rate(mistakes_b, groups),
        only_a,
        only_b,
        _se_of_mean(difference, groups)[0],
    )
