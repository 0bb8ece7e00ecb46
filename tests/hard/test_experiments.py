"""Many-run REINFORCE toys: runs are independent, and the stability tricks do what the lesson
says on average over runs (a baseline with offset rewards, an entropy bonus, clipping)."""

import pytest
import torch

from course_lib.hard.experiments import ToyRunConfig, bandit_runs, gaussian_runs
from course_lib.hard.reinforce import Bandit, GaussianTarget

OFFSET = Bandit(means=(5.0, 5.25, 5.5, 5.75), noise=0.5)


pytestmark = pytest.mark.usefixtures("one_thread")  # many tiny tensor ops


def test_curves_have_one_column_per_run():
    out = bandit_runs(OFFSET, ToyRunConfig(runs=5, steps=7))
    assert set(out) == {"expected_reward", "best_prob", "grad_norm", "entropy"}
    assert all(v.shape == (7, 5) for v in out.values())


def test_each_run_gets_only_its_own_gradient():
    # Zero reward noise and one arm that pays: every run's gradient is its own; runs that
    # sampled differently end up with different policies.
    out = bandit_runs(
        Bandit(means=(0.0, 1.0), noise=0.0),
        ToyRunConfig(runs=3, steps=20, optimizer="adam", clip=0.5),
    )
    assert not torch.equal(out["best_prob"][:, 0], out["best_prob"][:, 1])
    assert (out["best_prob"][-1] > 0.5).all()


def test_a_baseline_rescues_learning_with_offset_rewards():
    none = bandit_runs(OFFSET, ToyRunConfig(runs=64, steps=150, lr=0.1, baseline="none"))
    learned = bandit_runs(OFFSET, ToyRunConfig(runs=64, steps=150, lr=0.1, baseline="learned"))
    assert learned["best_prob"][-1].mean() > none["best_prob"][-1].mean() + 0.1
    assert learned["grad_norm"].mean() < none["grad_norm"].mean() / 2


def test_entropy_bonus_reduces_premature_convergence():
    arms = Bandit(means=tuple(i / 9 for i in range(10)), noise=0.5)
    base = dict(runs=100, steps=150, lr=2.0, baseline="learned")
    plain = bandit_runs(arms, ToyRunConfig(**base))
    bonus = bandit_runs(arms, ToyRunConfig(**base, entropy=(0.5, 0.0), anneal_steps=100))
    assert (bonus["best_prob"][-1] > 0.5).float().mean() > (
        plain["best_prob"][-1] > 0.5
    ).float().mean()


def test_clipping_prevents_divergence_of_a_sharp_gaussian_policy():
    toy = GaussianTarget()
    wild = gaussian_runs(toy, 0.05, ToyRunConfig(runs=100, steps=100, lr=0.1))
    tame = gaussian_runs(toy, 0.05, ToyRunConfig(runs=100, steps=100, lr=0.1, clip=1.0))
    failed = lambda d: float((~(d[-1] < 0.2)).float().mean())  # noqa: E731 - NaN counts
    assert failed(wild["distance"]) > 0.05 and failed(tame["distance"]) < 0.02


def test_bad_configs():
    with pytest.raises(ValueError, match="baseline"):
        ToyRunConfig(baseline="median")
    with pytest.raises(ValueError, match="runs"):
        ToyRunConfig(runs=0)
    with pytest.raises(ValueError, match="temperature"):
        ToyRunConfig(temperature=(0.0, 1.0))
