"""Lesson 06's exercises name the common mistakes of the instructor notes, in the notebook and
in the grader alike."""

import pytest

from tests.grading.diagnoses import Mistake, check_diagnosis

GRADCAM = """
def gradcam_map(activations, gradients):
    if gradients.shape != activations.shape:
        raise ValueError(f"gradients: got shape {{tuple(gradients.shape)}}")
    weights = gradients.{pool}(dim=(2, 3))
    cam = (weights[:, :, None, None] * activations).sum(dim=1)
    return weights, {cam}
"""
IG = """
def integrated_gradients(f, x, baseline, steps=50):
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive int, got {{steps!r}}")
    total = torch.zeros_like(x)
    for i in range(steps):
        alpha = {alpha} / steps
        point = (baseline + alpha * (x - baseline)).detach().requires_grad_()
        (grad,) = torch.autograd.grad(f(point).sum(), point)
        total += grad
    return {factor}total / steps
"""
ROLLOUT = """
def attention_rollout(weights):
    if weights.dim() != 5:
        raise ValueError(f"weights: expected 5 dimensions, got {{tuple(weights.shape)}}")
    mixing = {mixing}
    mixing = mixing / mixing.sum(dim=-1, keepdim=True)
    rollout = mixing[0]
    for layer in mixing[1:]:
        rollout = {product}
    return rollout
"""
MIXING = "0.5 * weights.mean(dim=2) + 0.5 * torch.eye(weights.shape[-1])"


def rollout(mixing=MIXING, product="layer @ rollout"):
    return ROLLOUT.format(mixing=mixing, product=product)


MISTAKES = [
    Mistake("06_gradcam_map", "gradcam_answer", GRADCAM.format(pool="sum", cam="torch.relu(cam)"),
            "gradcam_small", "summing the gradients over the positions instead of averaging them"),
    Mistake("06_gradcam_map", "gradcam_answer", GRADCAM.format(pool="mean", cam="cam"),
            "gradcam_small", "leaving out the ReLU"),
    Mistake("06_integrated_gradients", "ig_answer", IG.format(alpha="(i + 0.5)", factor=""),
            "ig_linear", "the mean gradient without the (x - baseline) factor"),
    Mistake("06_integrated_gradients", "ig_answer",
            IG.format(alpha="i", factor="(x - baseline) * "), "ig_network",
            "a left Riemann sum (alpha = i / steps)"),
    Mistake("06_attention_rollout", "rollout_answer", rollout(product="rollout @ layer"),
            "rollout_layers", "multiplying the layers in the wrong order"),
    Mistake("06_attention_rollout", "rollout_answer", rollout(mixing="weights.mean(dim=2)"),
            "rollout_one_layer", "leaving out the residual identity"),
]  # fmt: skip


@pytest.mark.parametrize("case", MISTAKES, ids=lambda m: f"{m.exercise}-{m.names[:30]}")
def test_the_mistake_is_named_in_the_notebook_and_the_grader(grader, tmp_path, case):
    check_diagnosis(grader, tmp_path, case)
