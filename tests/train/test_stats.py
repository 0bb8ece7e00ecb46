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


def test_copies_of_the_same_examples_do_not_shrink_the_grouped_standard_error():
    gen = torch.Generator().manual_seed(1)
    base = torch.rand(1000, generator=gen) < 0.05  # (1000,) one outcome per example
    copies = base.repeat(10)  # (10000,) ten identical draws of each example
    groups = torch.arange(1000).repeat(10)  # (10000,) which example each draw is
    single, naive, grouped = rate(base), rate(copies), rate(copies, groups)
    assert naive.se == pytest.approx(single.se / math.sqrt(10), rel=1e-6)  # falsely sharp
    assert grouped.se == pytest.approx(single.se * math.sqrt(1000 / 999), rel=1e-6)
    assert grouped.groups == 1000 and grouped.n == 10000
    # one example per group: the grouped error is the independent one (up to G / (G - 1))
    assert rate(base, torch.arange(1000)).se == pytest.approx(single.se * math.sqrt(1000 / 999))


def test_the_grouped_paired_test_keeps_its_false_alarm_rate_when_draws_are_correlated():
    """Each model finds each example hard or easy in its own way, the same in all its draws;
    over all examples the two are equally good. Treating the draws as independent flags far
    more than 1 comparison in 20 as "beyond noise"; grouping them does not."""
    gen = torch.Generator().manual_seed(2)
    examples, draws = 300, 10
    groups = torch.arange(examples).repeat(draws)  # (3000,)
    flagged = {"naive": 0, "grouped": 0}
    trials = 300
    for _ in range(trials):
        hard_a = (torch.rand(examples, generator=gen) ** 4).repeat(draws)  # (3000,)
        hard_b = (torch.rand(examples, generator=gen) ** 4).repeat(draws)  # same distribution
        a = torch.rand(examples * draws, generator=gen) < hard_a
        b = torch.rand(examples * draws, generator=gen) < hard_b
        flagged["naive"] += not paired(a, b).within_noise()
        flagged["grouped"] += not paired(a, b, groups).within_noise()
    assert flagged["grouped"] / trials <= 0.09
    assert flagged["naive"] / trials > 2 * flagged["grouped"] / trials


def test_the_grouped_paired_difference_and_text():
    a = torch.tensor([True, False, True, False])
    b = torch.tensor([False, False, True, True])
    result = paired(a, b, torch.tensor([0, 0, 1, 1]))
    assert result.difference == pytest.approx(0.0) and (result.only_a, result.only_b) == (1, 1)
    assert "draws from 2 examples" in str(result)


def test_bad_groups_are_refused_naming_the_argument():
    outcomes = torch.zeros(4, dtype=torch.bool)
    with pytest.raises(TypeError, match="groups: expected an int64 tensor"):
        rate(outcomes, torch.zeros(4))
    with pytest.raises(ValueError, match=r"groups: expected shape \(4,\)"):
        rate(outcomes, torch.arange(3))
    with pytest.raises(ValueError, match="groups: expected at least two"):
        paired(outcomes, outcomes, torch.zeros(4, dtype=torch.int64))
