"""REINFORCE (Williams, 1992) from scratch: a gradient through a sample, and how to tame it.

A policy :math:`\\pi_\\theta(a)` samples an action (which window to look at, where to put the
next glimpse); a reward :math:`R(a)` follows. The sample has no gradient, but the *expected*
reward has one, and it is itself an expectation (the **score-function** identity):

.. math:: \\nabla_\\theta\\, \\mathbb{E}_{a\\sim\\pi}[R(a)]
          = \\mathbb{E}_{a\\sim\\pi}\\big[(R(a) - b)\\, \\nabla_\\theta \\log \\pi_\\theta(a)\\big]

for any **baseline** ``b`` that does not depend on the action (``E[grad log pi] = 0``). Autograd
computes it from a *surrogate* loss ``-(R - b).detach() * log_prob``: its gradient is the
estimator. The baseline changes the variance, not the mean.

This module: the surrogate and the baseline's own loss, log-probabilities and entropies of the
two policies the lesson uses (categorical, diagonal Gaussian), a moving-average baseline, a
running reward normaliser, schedules, and toy problems whose exact gradient is known (for tests
and for measuring bias and variance).

Shapes: ``log_probs`` (batch,) or (batch, steps) — the log-probability of each sampled action;
``rewards`` (batch,) — one reward per episode; ``baselines`` broadcastable to ``log_probs``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape, expect_tensor


def _per_step(rewards: torch.Tensor, log_probs: torch.Tensor) -> torch.Tensor:
    """Rewards (batch,) -> (batch, 1, ...) so they broadcast against ``log_probs``."""
    expect_shape(rewards, "batch", name="rewards")
    if log_probs.dim() < 1 or len(log_probs) != len(rewards):
        raise ValueError(
            f"log_probs: expected shape (batch, ...) with batch = {len(rewards)}, "
            f"got {tuple(log_probs.shape)}"
        )
    return rewards.reshape(len(rewards), *([1] * (log_probs.dim() - 1)))


def advantages(rewards: torch.Tensor, log_probs: torch.Tensor, baselines=None) -> torch.Tensor:
    """``(R - b)`` per action, **detached**, shaped like ``log_probs`` (batch, ...).

    Detaching matters twice: the policy must not push the baseline around (the baseline learns
    from its own loss only), and the reward is a number, not a path for gradients.
    """
    r = _per_step(expect_tensor(rewards, "rewards"), expect_tensor(log_probs, "log_probs"))
    if isinstance(baselines, torch.Tensor) and baselines.dim() == 1 and log_probs.dim() > 1:
        baselines = _per_step(baselines, log_probs)  # one baseline per episode: (batch, 1, ...)
    adv = r - (0.0 if baselines is None else baselines)  # (batch, ...) broadcast
    try:
        if torch.broadcast_shapes(adv.shape, log_probs.shape) != log_probs.shape:
            raise RuntimeError
    except RuntimeError:
        raise ValueError(
            f"baselines: expected a shape broadcastable to log_probs "
            f"{tuple(log_probs.shape)}, got {tuple(torch.as_tensor(baselines).shape)}"
        ) from None
    adv = adv.expand_as(log_probs)  # (batch, ...)
    return adv.detach()


def reinforce_loss(
    log_probs: torch.Tensor,
    rewards: torch.Tensor,
    baselines=None,
    scale: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Surrogate loss whose gradient is minus the REINFORCE estimate of grad E[R] -> ().

    ``-mean over batch of sum over steps of (R - b).detach() / scale * log_prob``. ``scale``
    (e.g. a running reward std) divides the advantage; ``baselines`` may be ``None``, a float,
    or a tensor broadcastable to ``log_probs`` (a learned baseline: it is detached here).
    """
    adv = advantages(rewards, log_probs, baselines) / scale  # (batch, ...)
    per_episode = (adv * log_probs).reshape(len(log_probs), -1).sum(1)  # (batch,)
    return -per_episode.mean()


def baseline_loss(baselines: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """Mean squared error of a learned baseline (batch, ...) against the rewards (batch,) -> ()."""
    target = _per_step(expect_tensor(rewards, "rewards"), expect_tensor(baselines, "baselines"))
    return ((baselines - target.detach()) ** 2).mean()


# ----------------------------------------------------------------------------- policies


def categorical_log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log softmax(logits)[action]: logits (..., K), actions (...) int64 -> (...)."""
    expect_tensor(logits, "logits")
    if actions.shape != logits.shape[:-1]:
        raise ValueError(
            f"actions: expected shape {tuple(logits.shape[:-1])} (logits without "
            f"the last dim K), got {tuple(actions.shape)}"
        )
    return torch.log_softmax(logits, -1).gather(-1, actions[..., None])[..., 0]  # (...)


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of softmax(logits) over the last dim: (..., K) -> (...)."""
    log_p = torch.log_softmax(expect_tensor(logits, "logits"), -1)  # (..., K)
    return -(log_p.exp() * log_p).sum(-1)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, std) -> torch.Tensor:
    """Log-density of a diagonal Gaussian N(mean, std^2 I), summed over the last dim.

    x, mean: (..., d); std: a float or a tensor broadcastable to (..., d) -> (...).
    """
    expect_tensor(x, "x")
    expect_tensor(mean, "mean")
    if x.shape != mean.shape:
        raise ValueError(
            f"x and mean: expected the same shape, got {tuple(x.shape)} and {tuple(mean.shape)}"
        )
    std = torch.as_tensor(std, dtype=mean.dtype)
    if (std <= 0).any():
        raise ValueError("std: expected > 0")
    z = (x - mean) / std  # (..., d)
    per_dim = -0.5 * z**2 - torch.log(std) - 0.5 * math.log(2 * math.pi)  # (..., d)
    return per_dim.expand_as(z).sum(-1)


def gaussian_entropy(std, dims: int) -> torch.Tensor:
    """Entropy (nats) of N(mean, std^2 I) in ``dims`` dimensions (does not depend on the mean)."""
    std = torch.as_tensor(std, dtype=torch.float32)
    return dims * (0.5 * math.log(2 * math.pi * math.e) + torch.log(std))


# ------------------------------------------------------------------ baselines and scaling


class MovingAverageBaseline:
    """b = exponential moving average of past mean rewards (no parameters, no state input).

    ``initial`` a float: one baseline for the whole batch. ``initial`` a tensor (runs,): one
    baseline per independent run, each following the mean of its own rewards (runs, batch)."""

    def __init__(self, momentum: float = 0.9, initial: float | torch.Tensor = 0.0) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum: expected in [0, 1), got {momentum}")
        self.momentum = momentum
        self.value = initial.clone() if isinstance(initial, torch.Tensor) else float(initial)

    def __call__(self) -> float | torch.Tensor:
        return self.value

    def update(self, rewards: torch.Tensor) -> float | torch.Tensor:
        """Fold the batch's mean reward in (per run: the mean over the last dimension);
        return the new value."""
        rewards = expect_tensor(rewards, "rewards").float()
        if isinstance(self.value, torch.Tensor):
            sizes = expect_shape(rewards, "runs, batch", name="rewards")
            expect_match("runs", {"rewards": sizes["runs"], "baseline": len(self.value)})
            mean = rewards.mean(-1)  # (runs,)
        else:
            mean = float(rewards.mean())
        self.value = self.momentum * self.value + (1 - self.momentum) * mean
        return self.value


class RunningStd:
    """Running (exponentially weighted) std of advantages, to divide them by: reward
    normalisation keeps the step size the same whatever the reward's scale."""

    def __init__(self, momentum: float = 0.99, eps: float = 1e-3) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum: expected in [0, 1), got {momentum}")
        self.momentum, self.eps = momentum, eps
        self.mean, self.var, self.count = 0.0, 1.0, 0

    def update(self, values: torch.Tensor) -> float:
        """Fold in a batch of values; return the current std (>= eps)."""
        v = expect_tensor(values, "values").detach().float()
        m, var = float(v.mean()), float(v.var(unbiased=False))
        if self.count == 0:
            self.mean, self.var = m, var
        else:
            a = self.momentum
            self.var = a * self.var + (1 - a) * var + a * (1 - a) * (m - self.mean) ** 2
            self.mean = a * self.mean + (1 - a) * m
        self.count += 1
        return self.std

    @property
    def std(self) -> float:
        return max(math.sqrt(self.var), self.eps)


class PolicyGradient:
    """The REINFORCE and baseline terms of a hybrid loss, with a choice of baseline.

    ``baseline``: ``"learned"`` (use the model's predictions, detached, and train them with
    :func:`baseline_loss`), ``"average"`` (a :class:`MovingAverageBaseline` of past rewards) or
    ``"none"``. ``normalize``: divide the advantages by their running std (:class:`RunningStd`).
    """

    KINDS = ("learned", "average", "none")

    def __init__(
        self, baseline: str = "learned", normalize: bool = False, momentum: float = 0.9
    ) -> None:
        if baseline not in self.KINDS:
            raise ValueError(f"baseline: expected one of {self.KINDS}, got {baseline!r}")
        self.kind, self.moving = baseline, MovingAverageBaseline(momentum)
        self.running = RunningStd() if normalize else None

    def __call__(
        self, log_probs: torch.Tensor, rewards: torch.Tensor, learned: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(reinforce surrogate, baseline loss), both scalars; ``learned`` (batch, ...) are the
        model's baseline predictions (always trained when given, used when ``"learned"``)."""
        if self.kind == "learned" and learned is None:
            raise ValueError("learned: baseline='learned' needs the model's baseline predictions")
        b = {"learned": learned, "average": self.moving(), "none": None}[self.kind]
        scale = 1.0
        if self.running is not None:
            scale = self.running.update(advantages(rewards, log_probs, b))
        surrogate = reinforce_loss(log_probs, rewards, b, scale=scale)
        if self.kind == "average":
            self.moving.update(rewards)  # after use: b never depends on this batch's actions
        fit = baseline_loss(learned, rewards) if learned is not None else log_probs.new_zeros(())
        return surrogate, fit


def linear_schedule(start: float, end: float, steps: int) -> Callable[[int], float]:
    """step -> value going linearly from ``start`` (step 0) to ``end`` (step ``steps``), then
    flat."""
    expect_positive_int(steps, "steps")
    return lambda step: start + (end - start) * min(max(step, 0), steps) / steps


# ------------------------------------------------------------- toy problems, exact gradients


@dataclass(frozen=True)
class Bandit:
    """K arms; pulling arm a pays ``means[a] + noise * N(0, 1)``. Policy: softmax(logits)."""

    means: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0)
    noise: float = 0.5

    def expected_reward(self, logits: torch.Tensor) -> torch.Tensor:
        """E[R] under softmax(logits) (K,) -> (), differentiable."""
        return torch.softmax(logits, -1) @ torch.tensor(self.means, dtype=logits.dtype)

    def exact_gradient(self, logits: torch.Tensor) -> torch.Tensor:
        """grad_logits E[R] = p * (r - p.r) -> (K,)."""
        p = torch.softmax(logits.detach(), -1)  # (K,)
        r = torch.tensor(self.means, dtype=p.dtype)  # (K,)
        return p * (r - p @ r)

    def pull(self, actions: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """Rewards (n,) for actions (n,) int64."""
        r = torch.tensor(self.means)[actions]  # (n,)
        return r + self.noise * torch.randn(r.shape, generator=gen)


def bandit_gradients(
    bandit: Bandit,
    logits: torch.Tensor,
    batch: int,
    repeats: int,
    baseline: float | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """``repeats`` independent REINFORCE estimates of grad E[R], each from ``batch`` pulls,
    computed by autograd through :func:`reinforce_loss` -> (repeats, K)."""
    expect_shape(logits, "K", name="logits")
    gen = torch.Generator().manual_seed(seed)
    # one copy of the parameters per repeat: one backward pass gives every repeat's gradient
    theta = logits.detach().expand(repeats, -1).clone().requires_grad_(True)  # (repeats, K)
    probs = torch.softmax(logits.detach(), -1)  # (K,)
    actions = torch.multinomial(probs, repeats * batch, replacement=True, generator=gen)
    actions = actions.reshape(repeats, batch)  # (repeats, batch)
    rewards = bandit.pull(actions, gen)  # (repeats, batch)
    log_probs = categorical_log_prob(theta[:, None].expand(-1, batch, -1), actions)  # (R, batch)
    # the surrogate averages over all repeats * batch pulls; times `repeats`, the gradient
    # w.r.t. row r of theta is repeat r's own estimate (a mean over its batch)
    loss = reinforce_loss(log_probs.flatten(), rewards.flatten(), baseline) * repeats
    (grad,) = torch.autograd.grad(-loss, theta)  # (repeats, K)
    return grad


@dataclass(frozen=True)
class GaussianTarget:
    """Actions x ~ N(mean, std^2 I) in d dims; reward R(x) = -|x - target|^2.

    E[R] = -|mean - target|^2 - d std^2, so grad_mean E[R] = -2 (mean - target) exactly.
    """

    target: tuple[float, ...] = (0.5, -0.3)

    def exact_gradient(self, mean: torch.Tensor) -> torch.Tensor:
        return -2 * (mean.detach() - torch.tensor(self.target, dtype=mean.dtype))  # (d,)

    def reward(self, x: torch.Tensor) -> torch.Tensor:
        return -((x - torch.tensor(self.target, dtype=x.dtype)) ** 2).sum(-1)  # (n,)


def gaussian_gradients(
    toy: GaussianTarget,
    mean: torch.Tensor,
    std: float,
    batch: int,
    repeats: int,
    baseline: float | None = None,
    seed: int = 0,
    log_prob: Callable = gaussian_log_prob,
) -> torch.Tensor:
    """``repeats`` REINFORCE estimates of grad_mean E[R] for :class:`GaussianTarget`
    -> (repeats, d).

    ``log_prob(x, mean, std)`` is the policy's log-density (swap in your own to test it).
    """
    expect_shape(mean, "d", name="mean")
    gen = torch.Generator().manual_seed(seed)
    mu = mean.detach().expand(repeats, -1).clone().requires_grad_(True)  # (repeats, d)
    x = mu.detach()[:, None] + std * torch.randn(repeats, batch, len(mean), generator=gen)
    rewards = toy.reward(x)  # (repeats, batch)
    log_probs = log_prob(x, mu[:, None].expand(-1, batch, -1), std)  # (repeats, batch)
    loss = reinforce_loss(log_probs.flatten(), rewards.flatten(), baseline) * repeats
    (grad,) = torch.autograd.grad(-loss, mu)  # (repeats, d): row r = repeat r's estimate
    return grad


def gradient_variance(estimates: torch.Tensor) -> float:
    """Total variance (trace of the covariance) of gradient estimates (repeats, n_params)."""
    expect_shape(estimates, "repeats, n_params", name="estimates")
    if len(estimates) < 2:
        raise ValueError("estimates: need at least 2 repeats to measure a variance")
    return float(estimates.var(0).sum())


def bias_z_scores(estimates: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """|mean estimate - exact| in standard errors, per parameter: (repeats, n) -> (n,)."""
    expect_shape(estimates, "repeats, n", name="estimates")
    sem = estimates.std(0) / math.sqrt(len(estimates))  # (n,)
    return (estimates.mean(0) - exact).abs() / sem.clamp_min(1e-12)


def flat_grad(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """The gradient of ``loss`` w.r.t. ``params`` as one flat vector (zeros where unused)."""
    grads = torch.autograd.grad(loss, list(params), retain_graph=True, allow_unused=True)
    return torch.cat(
        [
            (torch.zeros_like(p) if g is None else g).flatten()
            for p, g in zip(params, grads, strict=True)
        ]
    )
