"""REINFORCE from scratch: unbiased on toy problems with a known gradient, a baseline cuts the
variance, the detaching is right, and bad input gets clear errors."""

import math

import pytest
import torch

from course_lib.hard.reinforce import (
    Bandit,
    GaussianTarget,
    MovingAverageBaseline,
    PolicyGradient,
    RunningStd,
    advantages,
    bandit_gradients,
    baseline_loss,
    bias_z_scores,
    categorical_entropy,
    categorical_log_prob,
    flat_grad,
    gaussian_entropy,
    gaussian_gradients,
    gaussian_log_prob,
    gradient_variance,
    linear_schedule,
    reinforce_loss,
)

LOGITS = torch.tensor([0.5, 0.0, -0.5, 0.2])


pytestmark = pytest.mark.usefixtures("one_thread")  # many tiny tensor ops


def test_bandit_exact_gradient_is_autograd_of_expected_reward():
    bandit = Bandit()
    theta = LOGITS.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(bandit.expected_reward(theta), theta)
    torch.testing.assert_close(bandit.exact_gradient(LOGITS), auto)


@pytest.mark.parametrize("baseline", [None, 2.5, -3.0])
def test_score_function_estimator_is_unbiased_on_a_bandit(baseline):
    # 400 independent estimates of 100 pulls each: the mean is within 4 standard errors of
    # the exact gradient in every coordinate, whatever constant baseline is used.
    bandit = Bandit()
    estimates = bandit_gradients(bandit, LOGITS, batch=100, repeats=400, baseline=baseline)
    z = bias_z_scores(estimates, bandit.exact_gradient(LOGITS))
    assert (z < 4).all(), z


def test_a_biased_estimator_is_caught():
    # The same check rejects an estimator that is off by 10 %: the test has teeth.
    bandit = Bandit()
    estimates = bandit_gradients(bandit, LOGITS, batch=100, repeats=400)
    z = bias_z_scores(estimates * 1.1, bandit.exact_gradient(LOGITS))
    assert (z > 4).any(), z


def test_gaussian_policy_gradient_is_unbiased():
    toy, mean = GaussianTarget(), torch.tensor([0.1, 0.2])
    for baseline in (None, -0.5):
        estimates = gaussian_gradients(
            toy, mean, std=0.3, batch=100, repeats=300, baseline=baseline
        )
        z = bias_z_scores(estimates, toy.exact_gradient(mean))
        assert (z < 4).all(), z


def test_learned_baseline_cuts_the_variance_at_least_twice():
    # A baseline learned by its own MSE loss converges to E[R]; with it the estimator's
    # variance is far lower (reinforce_variance_ratio of the lesson, target >= 2).
    bandit = Bandit()
    gen = torch.Generator().manual_seed(0)
    b = torch.zeros((), requires_grad=True)
    opt = torch.optim.SGD([b], lr=0.1)
    probs = torch.softmax(LOGITS, -1)
    for _ in range(200):
        rewards = bandit.pull(torch.multinomial(probs, 64, replacement=True, generator=gen), gen)
        opt.zero_grad()
        baseline_loss(b.expand(64), rewards).backward()
        opt.step()
    expected = float(bandit.expected_reward(LOGITS))
    assert abs(b.item() - expected) < 0.1
    without = gradient_variance(bandit_gradients(bandit, LOGITS, 50, 300, None, seed=1))
    learned = gradient_variance(bandit_gradients(bandit, LOGITS, 50, 300, b.item(), seed=1))
    ratio = without / learned
    assert ratio >= 2, ratio
    # ... and the estimates stay unbiased with it
    z = bias_z_scores(
        bandit_gradients(bandit, LOGITS, 100, 400, b.item(), seed=2), bandit.exact_gradient(LOGITS)
    )
    assert (z < 4).all()


def test_reinforce_loss_value_and_gradient():
    log_probs = torch.randn(4, 3, requires_grad=True)  # (batch, steps)
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.5])
    baselines = torch.full((4, 3), 0.25, requires_grad=True)
    loss = reinforce_loss(log_probs, rewards, baselines)
    expected = -((rewards[:, None] - 0.25) * log_probs).sum(1).mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    torch.testing.assert_close(log_probs.grad, -(rewards[:, None] - 0.25).expand(4, 3) / 4)
    # the classic bug: a policy gradient leaking into the baseline
    assert baselines.grad is None


def test_advantages_are_detached_and_broadcast():
    log_probs = torch.zeros(2, 3)
    rewards = torch.tensor([1.0, 0.0], requires_grad=True)
    per_episode = torch.tensor([0.5, 0.5], requires_grad=True)
    adv = advantages(rewards, log_probs, per_episode)
    assert adv.shape == (2, 3) and not adv.requires_grad
    torch.testing.assert_close(adv, torch.tensor([[0.5] * 3, [-0.5] * 3]))


def test_reinforce_loss_errors_name_the_argument():
    with pytest.raises(ValueError, match="log_probs"):
        reinforce_loss(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="rewards"):
        reinforce_loss(torch.zeros(3), torch.zeros(3, 1))
    with pytest.raises(ValueError, match="baselines"):
        reinforce_loss(torch.zeros(3, 2), torch.zeros(3), torch.zeros(3, 5))
    with pytest.raises(TypeError, match="rewards"):
        reinforce_loss(torch.zeros(3), [1.0, 2.0, 3.0])


def test_log_probs_and_entropies_match_torch_distributions():
    torch.manual_seed(0)
    logits, actions = torch.randn(5, 4), torch.randint(4, (5,))
    dist = torch.distributions.Categorical(logits=logits)
    torch.testing.assert_close(categorical_log_prob(logits, actions), dist.log_prob(actions))
    torch.testing.assert_close(categorical_entropy(logits), dist.entropy())
    x, mean = torch.randn(5, 2), torch.randn(5, 2)
    normal = torch.distributions.Normal(mean, 0.3)
    torch.testing.assert_close(gaussian_log_prob(x, mean, 0.3), normal.log_prob(x).sum(-1))
    torch.testing.assert_close(gaussian_entropy(0.3, 2), normal.entropy()[0].sum())
    with pytest.raises(ValueError, match="std"):
        gaussian_log_prob(x, mean, 0.0)
    with pytest.raises(ValueError, match="x and mean"):
        gaussian_log_prob(x, mean[:, :1], 0.3)
    with pytest.raises(ValueError, match="actions"):
        categorical_log_prob(logits, actions[:3])


def test_policy_gradient_kinds():
    log_probs = torch.randn(4, 2, requires_grad=True)
    rewards = torch.tensor([1.0, 1.0, 0.0, 1.0])
    learned = torch.full((4, 2), 0.75, requires_grad=True)
    rl, bl = PolicyGradient("learned")(log_probs, rewards, learned)
    torch.testing.assert_close(rl, reinforce_loss(log_probs, rewards, learned))
    torch.testing.assert_close(bl, baseline_loss(learned, rewards))
    average = PolicyGradient("average")
    rl_avg, _ = average(log_probs, rewards)
    torch.testing.assert_close(rl_avg, reinforce_loss(log_probs, rewards, 0.0))  # b starts at 0
    assert average.moving.value == pytest.approx(0.1 * 0.75)
    rl_none, bl_none = PolicyGradient("none")(log_probs, rewards)
    torch.testing.assert_close(rl_none, reinforce_loss(log_probs, rewards))
    assert float(bl_none) == 0.0
    normalized = PolicyGradient("none", normalize=True)
    rl_norm, _ = normalized(log_probs, rewards)
    torch.testing.assert_close(rl_norm, rl_none / normalized.running.std)
    with pytest.raises(ValueError, match="baseline"):
        PolicyGradient("median")
    with pytest.raises(ValueError, match="learned"):
        PolicyGradient("learned")(log_probs, rewards)


def test_running_std_and_moving_average():
    running, gen = RunningStd(momentum=0.9), torch.Generator().manual_seed(0)
    for _ in range(300):
        running.update(3 + 2 * torch.randn(256, generator=gen))
    assert running.mean == pytest.approx(3, abs=0.2) and running.std == pytest.approx(2, rel=0.1)
    moving = MovingAverageBaseline(0.5)
    moving.update(torch.tensor([1.0, 1.0]))
    moving.update(torch.tensor([1.0]))
    assert moving() == pytest.approx(0.75)
    with pytest.raises(ValueError, match="momentum"):
        MovingAverageBaseline(1.0)


def test_moving_average_per_run_follows_each_runs_rewards():
    moving = MovingAverageBaseline(0.5, initial=torch.zeros(2))
    moving.update(torch.tensor([[2.0, 4.0], [0.0, 0.0]]))  # (runs, batch)
    assert torch.allclose(moving(), torch.tensor([1.5, 0.0]))
    with pytest.raises(ValueError, match="runs"):
        moving.update(torch.ones(3, 4))


def test_schedules():
    anneal = linear_schedule(1.0, 0.1, 10)
    assert (
        anneal(0) == 1.0 and anneal(5) == pytest.approx(0.55) and anneal(50) == pytest.approx(0.1)
    )
    with pytest.raises(ValueError, match="steps"):
        linear_schedule(1, 0, 0)


def test_gradient_helpers():
    with pytest.raises(ValueError, match="repeats"):
        gradient_variance(torch.zeros(1, 3))
    assert gradient_variance(torch.tensor([[0.0, 1.0], [2.0, 1.0]])) == pytest.approx(2.0)
    w, unused = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    flat = flat_grad((w * 3).sum(), [w, unused])
    torch.testing.assert_close(flat, torch.tensor([3.0, 3, 0, 0, 0]))
    assert math.isclose(float(bias_z_scores(torch.tensor([[1.0], [3.0]]), torch.tensor([2.0]))), 0)
