"""Saliency from scratch: vanilla gradient, SmoothGrad, integrated gradients (checked against
captum, and their completeness property)."""

import pytest
import torch
from torch import nn

from course_lib.explain.saliency import (
    completeness_gap,
    gradient_times_input,
    integrated_gradients,
    path_alphas,
    smoothgrad,
    target_scores,
    vanilla_gradient,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def small_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5)
    ).eval()


def test_vanilla_gradient_of_a_linear_model_is_its_weight_row():
    model = nn.Linear(6, 3)
    x = torch.randn(4, 6)
    target = torch.tensor([0, 2, 1, 2])
    assert torch.allclose(vanilla_gradient(model, x, target), model.weight[target].detach())
    assert torch.allclose(gradient_times_input(model, x, target), x * model.weight[target])


def test_gradients_of_examples_do_not_mix_and_leave_parameters_alone():
    model = small_net()
    x = torch.rand(3, 1, 8, 8)
    target = torch.tensor([1, 4, 0])
    together = vanilla_gradient(model, x, target)
    alone = torch.cat([vanilla_gradient(model, x[i : i + 1], target[i : i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-6)
    assert all(p.grad is None for p in model.parameters())


def test_smoothgrad_with_no_noise_is_the_gradient_and_noise_changes_it():
    model = small_net()
    x, target = torch.rand(2, 1, 8, 8), torch.tensor([3, 1])
    plain = vanilla_gradient(model, x, target)
    assert torch.allclose(smoothgrad(model, x, target, samples=3, sigma=0.0), plain, atol=1e-6)
    noisy = smoothgrad(model, x, target, samples=8, sigma=0.3, seed=1)
    assert noisy.shape == x.shape and not torch.allclose(noisy, plain, atol=1e-4)
    assert torch.equal(noisy, smoothgrad(model, x, target, samples=8, sigma=0.3, seed=1))


def test_path_alphas_weights_sum_to_one():
    for rule in ("midpoint", "trapezoid"):
        alphas, weights = path_alphas(7, rule)
        assert alphas.shape == weights.shape == (7,)
        assert weights.sum().item() == pytest.approx(1.0)
        assert 0 <= alphas.min() and alphas.max() <= 1
    with pytest.raises(ValueError, match="rule: expected one of"):
        path_alphas(5, "simpson")


def test_integrated_gradients_is_exact_for_a_linear_model():
    model = nn.Linear(5, 2)
    x, base = torch.randn(3, 5), torch.randn(1, 5)
    target = torch.tensor([1, 0, 1])
    attr = integrated_gradients(model, x, target, baseline=base, steps=4)
    expected = (x - base) * model.weight[target].detach()
    assert torch.allclose(attr, expected, atol=1e-6)


def test_integrated_gradients_completeness_gap_shrinks_with_steps():
    model = small_net()
    x, target = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    gaps = [
        completeness_gap(model, x, target, integrated_gradients(model, x, target, steps=n)).abs()
        for n in (2, 16, 128)
    ]
    change = (target_scores(model, x, target) - target_scores(model, 0 * x, target)).abs()
    assert gaps[2].max() < 1e-3 * change.max() + 1e-5
    assert gaps[2].max() < gaps[0].max()


def test_integrated_gradients_equals_captum():
    from captum.attr import IntegratedGradients

    model = small_net(seed=3)
    x, target = torch.rand(3, 1, 8, 8), torch.tensor([4, 0, 2])
    baseline = torch.full_like(x, 0.1)
    ours = integrated_gradients(model, x, target, baseline=baseline, steps=20)
    theirs, delta = IntegratedGradients(model).attribute(
        x,
        baselines=baseline,
        target=target,
        n_steps=20,
        method="riemann_middle",
        return_convergence_delta=True,
    )
    assert (ours - theirs).abs().max() < 1e-5
    gap = completeness_gap(model, x, target, ours, baseline)
    assert torch.allclose(gap, delta.float(), atol=1e-4)


def test_trapezoid_rule_is_captums_rescaled_to_weights_that_sum_to_one():
    """captum's riemann_trapezoid weights are 1/n with half-weight ends: they sum to
    (n - 1)/n, not 1. Ours sum to 1, so ours = captum's * n / (n - 1)."""
    from captum.attr import IntegratedGradients

    model = small_net(seed=4)
    x, target, n = torch.rand(2, 1, 8, 8), torch.tensor([1, 3]), 10
    ours = integrated_gradients(model, x, target, steps=n, rule="trapezoid")
    theirs = IntegratedGradients(model).attribute(
        x, target=target, n_steps=n, method="riemann_trapezoid"
    )
    assert (ours - theirs * n / (n - 1)).abs().max() < 1e-5


def test_bad_inputs_name_the_argument():
    model = nn.Linear(4, 2)
    with pytest.raises(ValueError, match="target: expected int64"):
        vanilla_gradient(model, torch.randn(3, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="inputs: expected a float tensor"):
        vanilla_gradient(model, torch.ones(3, 4, dtype=torch.long), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="baseline: shape"):
        integrated_gradients(model, torch.randn(3, 4), torch.tensor([0, 1, 1]), torch.zeros(5))
    with pytest.raises(ValueError, match="samples: expected a positive int"):
        smoothgrad(model, torch.randn(3, 4), torch.tensor([0, 1, 1]), samples=0)
