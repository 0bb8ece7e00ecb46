"""Error rates with standard errors and the paired (McNemar) test."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
import torch

from course_lib.train.stats import paired, rate


def test_a_rate_and_its_standard_error():
    r = rate(torch.tensor([True] * 25 + [False] * 975))
    assert r.value == pytest.approx(0.025) and r.n == 1000
    assert r.se == pytest.approx(math.sqrt(0.025 * 0.975 / 1000))
    low, high = r.interval()
    assert low == pytest.approx(0.025 - 1.96 * r.se) and high == pytest.approx(0.025 + 1.96 * r.se)
    assert rate(torch.zeros(10, dtype=torch.bool)).interval() == (0.0, 0.0)
    assert str(r) == "0.025 ± 0.005"


def test_the_paired_test_counts_only_disagreements_and_matches_mcnemar():
    a = torch.zeros(1000, dtype=torch.bool)
    b = torch.zeros(1000, dtype=torch.bool)
    a[:30] = True  # both wrong on 0..19, A alone on 20..29
    b[:20] = True
    b[30:60] = True  # B alone on 30..59
    result = paired(a, b)
    assert (result.only_a, result.only_b) == (10, 30)
    assert result.difference == pytest.approx((30 - 50) / 1000)
    # McNemar's statistic (b - c)^2 / (b + c) is z^2 up to the small (b - c)^2 / n term
    chi2 = (10 - 30) ** 2 / (10 + 30)
    assert result.z**2 == pytest.approx(chi2, rel=0.02)
    assert result.p_value == pytest.approx(2 * (1 - NormalDist().cdf(abs(result.z))))
    assert not result.within_noise() and "beyond noise" in str(result)
    same = paired(a, a)
    assert same.z == 0.0 and same.p_value == 1.0 and same.within_noise()


def test_under_the_null_about_one_comparison_in_twenty_looks_significant():
    gen = torch.Generator().manual_seed(0)
    flagged = 0
    for _ in range(400):
        a = torch.rand(2000, generator=gen) < 0.05
        b = torch.rand(2000, generator=gen) < 0.05
        flagged += not paired(a, b).within_noise()
    assert 0.02 <= flagged / 400 <= 0.09


def test_bad_outcomes_are_refused_naming_the_argument():
    with pytest.raises(TypeError, match="outcomes: expected dtype torch.bool"):
        rate(torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="outcomes: expected a bool tensor"):
        rate([True, False])
    with pytest.raises(ValueError, match="outcomes: expected at least one"):
        rate(torch.zeros(0, dtype=torch.bool))
    with pytest.raises(ValueError, match="mistakes_b: expected the same examples"):
        paired(torch.zeros(3, dtype=torch.bool), torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mistakes_a: expected 1 dims"):
        paired(torch.zeros(2, 3, dtype=torch.bool), torch.zeros(6, dtype=torch.bool))
