"""The recurrent attention model: shapes, the hybrid loss, and the two classic bugs of the
reference implementations — a policy gradient leaking into the baseline, and a location sample
that is not detached before it is fed back."""

import pytest
import torch

from course_lib.core.retina import RetinaConfig
from course_lib.hard.glimpse import GlimpseNetConfig
from course_lib.hard.policy_training import (
    PolicyTrainConfig,
    policy_gradient_samples,
    train_policy,
)
from course_lib.hard.ram import RAM, RAMConfig, hybrid_loss, ram_error
from course_lib.hard.reinforce import PolicyGradient, gaussian_log_prob, gradient_variance

SMALL = RAMConfig(
    image_size=32,
    glimpse=GlimpseNetConfig(RetinaConfig(patch=8, scales=2), what=16, where=8, out=16),
    hidden=16,
    glimpses=4,
    std=0.2,
)


pytestmark = pytest.mark.usefixtures("one_thread")  # many tiny tensor ops


def batch(n=6, size=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, size, size, generator=gen), torch.randint(10, (n,), generator=gen)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return RAM(SMALL)


def params_of(module):
    return list(module.parameters())


def grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def is_zero(gs):
    return all(g is None or not g.any() for g in gs)


def test_output_shapes(model):
    x, _ = batch()
    out = model(x)
    assert out.logits.shape == (6, 10) and out.step_logits.shape == (6, 4, 10)
    assert out.locations.shape == (6, 4, 2) and out.means.shape == (6, 3, 2)
    assert out.log_probs.shape == (6, 3) and out.baselines.shape == (6, 3)
    assert (out.locations[:, 0] == 0).all()  # starts at the centre
    assert out.locations.abs().max() <= 1
    torch.testing.assert_close(out.logits, out.step_logits[:, -1])


def test_log_probs_are_those_of_the_sampled_locations(model):
    x, _ = batch()
    out = model(x, generator=torch.Generator().manual_seed(1))
    inside = (out.locations[:, 1:].abs() < 1).all(-1)  # not clipped: location = the sample
    expected = gaussian_log_prob(out.locations[:, 1:], out.means, SMALL.std)
    torch.testing.assert_close(out.log_probs[inside], expected[inside])


def test_evaluation_follows_the_mean_deterministically(model):
    x, _ = batch()
    a, b = model(x, sample=False), model(x, sample=False)
    assert a.locations.equal(b.locations)
    torch.testing.assert_close(a.locations[:, 1:], a.means.clamp(-1, 1))


def test_bug_1_baseline_gets_no_policy_gradient_and_is_detached_in_reinforce(model):
    x, y = batch()
    out = model(x)
    terms = hybrid_loss(out, y)
    # the REINFORCE term reaches the location network only
    assert is_zero(grads(terms.reinforce, params_of(model.baseline)))
    assert is_zero(grads(terms.reinforce, params_of(model.core) + params_of(model.glimpse)))
    assert not is_zero(grads(terms.reinforce, params_of(model.locator)))
    # the baseline learns from its own loss only, and that loss trains nothing else
    assert not is_zero(grads(terms.baseline, params_of(model.baseline)))
    assert is_zero(grads(terms.baseline, params_of(model.locator) + params_of(model.core)))
    # and the REINFORCE term is the estimator with (R - b).detach()
    reward = (out.logits.argmax(-1) == y).float()
    manual = -((reward[:, None] - out.baselines.detach()) * out.log_probs).sum(1).mean()
    torch.testing.assert_close(terms.reinforce, manual)


def test_bug_2_location_sample_is_detached_before_it_is_fed_back(model):
    x, y = batch()
    out = model(x)
    assert not out.locations.requires_grad
    terms = hybrid_loss(out, y)
    # the classifier's loss must not reach the location network through the sample
    assert is_zero(grads(terms.classification, params_of(model.locator)))
    assert not is_zero(grads(terms.classification, params_of(model.core)))


def test_the_bug_checks_have_teeth(model, monkeypatch):
    # Re-introduce bug 2 (feed back mean + std * noise with its gradient) and the check fails.
    original = torch.Tensor.detach
    monkeypatch.setattr(torch.Tensor, "detach", lambda self: self)
    x, y = batch()
    terms = hybrid_loss(model(x), y)
    monkeypatch.setattr(torch.Tensor, "detach", original)
    assert not is_zero(grads(terms.classification, params_of(model.locator)))


def test_hybrid_loss_reward_and_baseline_kinds(model):
    x, y = batch()
    out = model(x)
    terms = hybrid_loss(out, y, PolicyGradient("none"), reinforce_weight=0.5)
    assert terms.reward == pytest.approx(float((out.logits.argmax(-1) == y).float().mean()))
    torch.testing.assert_close(
        terms.total, terms.classification + 0.5 * terms.reinforce + terms.baseline
    )
    with pytest.raises(ValueError, match="labels"):
        hybrid_loss(out, y[:, None])


def test_config_and_input_errors():
    with pytest.raises(ValueError, match="core"):
        RAMConfig(core="lstm")
    with pytest.raises(ValueError, match="std"):
        RAMConfig(std=0.0)
    with pytest.raises(ValueError, match="images"):
        RAM(SMALL)(torch.zeros(2, 1, 60, 60))


def test_training_steps_and_policy_gradient_variance(model):
    x, y = batch(32)
    history = train_policy(
        model,
        lambda epoch: [(x, y)],
        PolicyTrainConfig(steps=5, lr=1e-3, warmup=2, clip=1.0, spread=(0.3, 0.1), anneal_steps=4),
        evaluate=lambda m: ram_error(m, x[:, 0], y),
        eval_every=2,
    )
    assert history.eval_steps == [2, 4, 5]
    assert history.records["lr"][:2] == [0.0005, 0.001]
    assert history.records["spread"][0] == pytest.approx(0.3)
    assert history.records["spread"][-1] == pytest.approx(0.1)
    assert {"reward", "classification", "baseline_mse", "grad_norm", "policy_grad_norm"} <= set(
        history.records
    )
    samples = policy_gradient_samples(model, x, y, "none", repeats=4)
    n_policy = sum(p.numel() for p in model.policy_parameters())
    assert samples.shape == (4, n_policy) and gradient_variance(samples) > 0
