"""Gradient saliency from scratch: vanilla gradient, SmoothGrad, integrated gradients.

All three explain one number per example, the ``target`` logit of a classifier, by a map the
shape of the input:

- **vanilla gradient** (Simonyan et al., 2014): d logit / d input. Cheap, local and noisy.
- **SmoothGrad** (Smilkov et al., 2017): the mean gradient over ``samples`` copies of the input
  with Gaussian noise of std ``sigma`` times the input's value range. Averages the noise away.
- **integrated gradients** (Sundararajan et al., 2017): ``(x - x') * mean over the straight path
  x' -> x of the gradient``, with a ``baseline`` x' (black image by default);
  :func:`path_integrated_gradients` does it for any score function. It is *complete*:
  the attributions add up to ``f(x) - f(x')`` (exactly in the limit of many ``steps``;
  :func:`completeness_gap` measures how far a finite Riemann sum is from it).

Shapes: ``inputs`` (batch, ...) any input shape, ``model(inputs)`` -> logits (batch, classes),
``target`` (batch,) int64 class indices; every map returned has the shape of ``inputs``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from course_lib.core.shapes import expect_positive_int, expect_tensor

Model = Callable[[torch.Tensor], torch.Tensor]
RULES = ("midpoint", "trapezoid")


def _check(model: Model, inputs: torch.Tensor, target: torch.Tensor) -> None:
    if not callable(model):
        raise TypeError(f"model: expected a callable (batch, ...) -> logits, got {model!r}")
    expect_tensor(inputs, "inputs")
    expect_tensor(target, "target")
    if inputs.dim() < 2 or not inputs.is_floating_point():
        raise ValueError(
            f"inputs: expected a float tensor (batch, ...), got {inputs.dtype} "
            f"with shape {tuple(inputs.shape)}"
        )
    if target.shape != (inputs.shape[0],) or target.dtype != torch.int64:
        raise ValueError(
            f"target: expected int64 class indices of shape ({inputs.shape[0]},), got "
            f"{target.dtype} with shape {tuple(target.shape)}"
        )


def target_scores(model: Model, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The ``target`` logit of each example: (batch, ...) -> (batch,)."""
    logits = model(inputs)  # (batch, classes)
    if logits.dim() != 2 or logits.shape[0] != inputs.shape[0]:
        raise ValueError(f"model: expected logits (batch, classes), got {tuple(logits.shape)}")
    return logits.gather(1, target[:, None])[:, 0]  # (batch,)


def vanilla_gradient(model: Model, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """d (target logit) / d inputs, one example at a time in effect (the logits of different
    examples do not interact, so the gradient of their sum is each one's gradient).
    Returns (batch, ...) like ``inputs``."""
    _check(model, inputs, target)
    x = inputs.detach().clone().requires_grad_(True)  # (batch, ...)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(target_scores(model, x, target).sum(), x)
    return grad  # (batch, ...)


def smoothgrad(
    model: Model,
    inputs: torch.Tensor,
    target: torch.Tensor,
    samples: int = 25,
    sigma: float = 0.15,
    seed: int = 0,
) -> torch.Tensor:
    """Mean :func:`vanilla_gradient` over ``samples`` noisy copies of ``inputs``; the noise has
    std ``sigma * (max - min)`` of each example. Returns (batch, ...) like ``inputs``."""
    _check(model, inputs, target)
    expect_positive_int(samples, "samples")
    if not sigma >= 0:
        raise ValueError(f"sigma: expected a number >= 0, got {sigma!r}")
    gen = torch.Generator().manual_seed(seed)
    flat = inputs.flatten(1)  # (batch, features)
    spread = (flat.max(1).values - flat.min(1).values).reshape(-1, *[1] * (inputs.dim() - 1))
    total = torch.zeros_like(inputs)
    for _ in range(samples):
        noise = torch.randn(inputs.shape, generator=gen) * sigma * spread  # (batch, ...)
        total += vanilla_gradient(model, inputs + noise, target)
    return total / samples  # (batch, ...)


def path_alphas(steps: int, rule: str = "midpoint") -> tuple[torch.Tensor, torch.Tensor]:
    """Points on [0, 1] and their weights for a Riemann sum of ``steps`` terms: ``midpoint``
    (alpha = (i + 1/2) / steps, weight 1/steps) or ``trapezoid`` (alpha = i / (steps - 1),
    half weight at both ends). Returns alphas (steps,) and weights (steps,) summing to 1."""
    expect_positive_int(steps, "steps")
    if rule == "midpoint":
        alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps  # (steps,)
        weights = torch.full((steps,), 1.0 / steps, dtype=torch.float64)
    elif rule == "trapezoid":
        if steps < 2:
            raise ValueError(f"steps: the trapezoid rule needs >= 2 steps, got {steps}")
        alphas = torch.linspace(0, 1, steps, dtype=torch.float64)  # (steps,)
        weights = torch.full((steps,), 1.0 / (steps - 1), dtype=torch.float64)
        weights[[0, -1]] /= 2
    else:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    return alphas, weights


def path_integrated_gradients(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    baseline: torch.Tensor,
    steps: int = 50,
    rule: str = "midpoint",
) -> torch.Tensor:
    """Integrated gradients of any score ``f`` (batch, ...) -> (batch,) along the straight path
    from ``baseline`` to ``x`` (both (batch, ...)): ``(x - x') * sum_i w_i * grad f(x' +
    alpha_i (x - x'))`` with the points and weights of :func:`path_alphas`, one ``f`` call per
    point. Returns (batch, ...) like ``x``. (Exercise ``06_integrated_gradients`` writes the
    midpoint rule; :func:`integrated_gradients` runs it on a classifier's logit.)"""
    expect_tensor(x, "x")
    if expect_tensor(baseline, "baseline").shape != x.shape:
        raise ValueError(
            f"baseline: expected the shape of x {tuple(x.shape)}, got {tuple(baseline.shape)}"
        )
    alphas, weights = path_alphas(steps, rule)  # (steps,), (steps,)
    total = torch.zeros_like(x)  # (batch, ...)
    for alpha, weight in zip(alphas.tolist(), weights.tolist(), strict=True):
        point = (baseline + alpha * (x - baseline)).detach().requires_grad_(True)  # (batch, ...)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(f(point).sum(), point)  # (batch, ...)
        total += weight * grad
    return (x - baseline) * total  # (batch, ...)


def integrated_gradients(
    model: Model,
    inputs: torch.Tensor,
    target: torch.Tensor,
    baseline: torch.Tensor | None = None,
    steps: int = 50,
    rule: str = "midpoint",
) -> torch.Tensor:
    """Integrated gradients of the ``target`` logit: :func:`path_integrated_gradients` of
    :func:`target_scores`. ``baseline`` x' is broadcastable to ``inputs`` (default zeros).
    Returns (batch, ...) like ``inputs``."""
    _check(model, inputs, target)
    baseline = torch.zeros_like(inputs) if baseline is None else expect_tensor(baseline, "baseline")
    try:
        baseline = torch.broadcast_to(baseline, inputs.shape).to(inputs.dtype)  # (batch, ...)
    except RuntimeError:
        raise ValueError(
            f"baseline: shape {tuple(baseline.shape)} does not broadcast to inputs "
            f"{tuple(inputs.shape)}"
        ) from None
    path_alphas(steps, rule)  # a bad steps or rule is refused before any model call

    def score(points: torch.Tensor) -> torch.Tensor:
        return target_scores(model, points, target)  # (batch,)

    # the midpoint rule is the exercise's: passed without ``rule`` so that the learner's
    # answer can run here (``mine.using("integrated_gradients")``)
    extra = {} if rule == "midpoint" else {"rule": rule}
    return path_integrated_gradients(score, inputs, baseline, steps, **extra)


@torch.no_grad()
def completeness_gap(
    model: Model,
    inputs: torch.Tensor,
    target: torch.Tensor,
    attributions: torch.Tensor,
    baseline: torch.Tensor | None = None,
) -> torch.Tensor:
    """``sum(attributions) - (f(x) - f(x'))`` per example (batch,): zero for an exact
    integrated-gradients attribution, small for a good Riemann sum."""
    _check(model, inputs, target)
    if expect_tensor(attributions, "attributions").shape != inputs.shape:
        raise ValueError(
            f"attributions: expected the shape of inputs {tuple(inputs.shape)}, "
            f"got {tuple(attributions.shape)}"
        )
    baseline = torch.zeros_like(inputs) if baseline is None else baseline.expand_as(inputs)
    change = target_scores(model, inputs, target) - target_scores(model, baseline, target)
    return attributions.flatten(1).sum(1) - change  # (batch,)


def gradient_times_input(model: Model, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``inputs * gradient``: the one-step (first-order) estimate of each feature's
    contribution; integrated gradients with a single step at alpha = 1. (batch, ...)."""
    return inputs * vanilla_gradient(model, inputs, target)


METHODS: dict[str, Callable[..., torch.Tensor]] = {
    "gradient": vanilla_gradient,
    "gradient x input": gradient_times_input,
    "SmoothGrad": smoothgrad,
    "integrated gradients": integrated_gradients,
}
