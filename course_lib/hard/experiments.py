"""Many short REINFORCE runs at once, on toy problems whose exact expected reward is known, to
compare stability tricks with curves that average over seeds instead of telling one lucky story.

Every run is independent (its own parameters, samples and optimiser state); they are batched
along a leading ``runs`` axis, so 200 runs of 300 steps take well under a second. The knobs
are those of :class:`~course_lib.hard.policy_training.PolicyTrainConfig`: optimiser, learning rate
and warm-up, per-run gradient-norm clipping, baseline kind, reward normalisation, an entropy
bonus and a softmax temperature, both annealed linearly.

- :func:`bandit_runs`: a softmax policy over the arms of a
  :class:`~course_lib.hard.reinforce.Bandit`; curves of the exact expected reward and of the
  probability of the best arm.
- :func:`gaussian_runs`: a Gaussian policy (fixed std) aiming at a
  :class:`~course_lib.hard.reinforce.GaussianTarget`, like the RAM's location network; curves of the
  distance of the mean to the target. Its score ``(x - mean) / std**2`` is large and
  heavy-tailed for a small std: the case for clipping.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_positive_int
from course_lib.hard.reinforce import (
    Bandit,
    GaussianTarget,
    MovingAverageBaseline,
    categorical_entropy,
    categorical_log_prob,
    gaussian_log_prob,
    linear_schedule,
    reinforce_loss,
)
from course_lib.train.schedules import lr_factor

BASELINES = ("none", "average", "learned")
DEFAULT_BANDIT, DEFAULT_TARGET = Bandit(), GaussianTarget()


@dataclass(frozen=True)
class ToyRunConfig:
    """``runs`` independent runs of ``steps`` steps with ``batch`` samples each (see the module
    docstring for the knobs). ``baseline="learned"`` learns one value per run by SGD on the
    squared error at ``baseline_lr``; ``"average"`` is a moving average (momentum 0.9).
    ``normalize`` divides each run's advantages by their running std (momentum 0.9)."""

    runs: int = 200
    steps: int = 300
    batch: int = 8
    lr: float = 0.1
    optimizer: str = "sgd"
    warmup: int = 0
    clip: float | None = None
    baseline: str = "none"
    baseline_lr: float = 0.1
    normalize: bool = False
    entropy: tuple[float, float] = (0.0, 0.0)
    temperature: tuple[float, float] = (1.0, 1.0)
    anneal_steps: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("runs", "steps", "batch", "anneal_steps"):
            expect_positive_int(getattr(self, name), name)
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline: expected one of {BASELINES}, got {self.baseline!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer: expected 'sgd' or 'adam', got {self.optimizer!r}")
        if min(self.temperature) <= 0:
            raise ValueError(f"temperature: expected > 0, got {self.temperature}")


class _Runs:
    """Shared machinery: parameters (runs, d), per-run clipping, optimiser, baselines.

    The baselines are :class:`~course_lib.hard.reinforce.PolicyGradient`'s, one per run: the
    ``"average"`` one is a :class:`~course_lib.hard.reinforce.MovingAverageBaseline` per run; a
    toy policy has no network to predict a ``"learned"`` baseline, so each run learns one number
    by SGD on the squared error; normalisation divides by each run's running std of advantages.
    """

    def __init__(self, init: torch.Tensor, config: ToyRunConfig) -> None:
        self.config = config
        self.param = init.clone().requires_grad_(True)  # (runs, d)
        opt = torch.optim.SGD if config.optimizer == "sgd" else torch.optim.Adam
        self.opt = opt([self.param], lr=config.lr)
        self.entropy = linear_schedule(*config.entropy, config.anneal_steps)
        self.temperature = linear_schedule(*config.temperature, config.anneal_steps)
        self.average = MovingAverageBaseline(0.9, initial=torch.zeros(config.runs))
        self.value = torch.zeros(config.runs)  # (runs,) the learned baseline of each run
        self.adv_var: torch.Tensor | None = None  # (runs,) running variance of advantages
        self.gen = torch.Generator().manual_seed(config.seed)

    def baseline(self) -> torch.Tensor | None:
        kind = self.config.baseline
        if kind == "none":
            return None
        return (self.average() if kind == "average" else self.value)[:, None]  # (runs, 1)

    def scale(self, rewards: torch.Tensor) -> torch.Tensor | float:
        """Reward normalisation: each run's running advantage std, (runs * batch,); else 1."""
        if not self.config.normalize:
            return 1.0
        b = self.baseline()
        adv = rewards - (0.0 if b is None else b)  # (runs, batch)
        var = adv.var(1, unbiased=False)  # (runs,)
        self.adv_var = var if self.adv_var is None else 0.9 * self.adv_var + 0.1 * var
        std = self.adv_var.sqrt().clamp_min(1e-3)  # (runs,)
        return std[:, None].expand_as(rewards).flatten()

    def update_baseline(self, rewards: torch.Tensor) -> None:
        """After the policy step: move each run's baseline towards its batch's rewards."""
        if self.config.baseline == "average":
            self.average.update(rewards)
        elif self.config.baseline == "learned":  # SGD on mean (b - R)^2: grad 2 (b - mean R)
            mean = rewards.mean(1)  # (runs,)
            self.value = self.value - self.config.baseline_lr * 2 * (self.value - mean)

    def step(self, step: int, loss: torch.Tensor) -> torch.Tensor:
        """Backward, clip each run's gradient to ``clip``, step; return the norms (runs,)."""
        for group in self.opt.param_groups:
            group["lr"] = self.config.lr * lr_factor(
                step + 1, self.config.steps, self.config.warmup
            )
        self.opt.zero_grad()
        loss.backward()
        norms = self.param.grad.norm(dim=1)  # (runs,) before clipping
        if self.config.clip is not None:
            scale = (self.config.clip / norms.clamp_min(1e-12)).clamp(max=1.0)  # (runs,)
            self.param.grad.mul_(scale[:, None])
        self.opt.step()
        return norms


def bandit_runs(
    bandit: Bandit = DEFAULT_BANDIT,
    config: ToyRunConfig = ToyRunConfig(),
    init: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Train ``config.runs`` softmax policies (logits start at ``init`` (K,), default 0).

    Returns curves, each (steps, runs): ``expected_reward`` (exact, of softmax(logits / T)),
    ``best_prob`` (probability of the best arm), ``grad_norm`` (before clipping),
    ``entropy`` of the policy.
    """
    c, k = config, len(bandit.means)
    start = torch.zeros(k) if init is None else init.detach().float()
    runs = _Runs(start.expand(c.runs, k), c)
    means = torch.tensor(bandit.means)  # (K,)
    best = int(means.argmax())
    out = {name: [] for name in ("expected_reward", "best_prob", "grad_norm", "entropy")}
    for step in range(c.steps):
        t = runs.temperature(step)
        logits = runs.param / t  # (runs, K)
        probs = torch.softmax(logits.detach(), -1)  # (runs, K)
        actions = torch.multinomial(probs, c.batch, replacement=True, generator=runs.gen)
        rewards = bandit.pull(actions, runs.gen)  # (runs, batch)
        log_probs = categorical_log_prob(logits[:, None].expand(-1, c.batch, -1), actions)
        b = runs.baseline()
        adv_base = None if b is None else b.expand(-1, c.batch).flatten()
        # the mean over runs * batch, times runs: each run's gradient is its own estimate
        loss = (
            reinforce_loss(
                log_probs.flatten(), rewards.flatten(), adv_base, scale=runs.scale(rewards)
            )
            * c.runs
        )
        entropy = categorical_entropy(logits)  # (runs,)
        loss = loss - runs.entropy(step) * entropy.sum()
        out["grad_norm"].append(runs.step(step, loss))
        runs.update_baseline(rewards)
        with torch.no_grad():
            p = torch.softmax(runs.param / runs.temperature(step + 1), -1)  # (runs, K)
            out["expected_reward"].append(p @ means)
            out["best_prob"].append(p[:, best])
            out["entropy"].append(categorical_entropy(runs.param / runs.temperature(step + 1)))
    return {name: torch.stack(values) for name, values in out.items()}  # each (steps, runs)


def gaussian_runs(
    toy: GaussianTarget = DEFAULT_TARGET,
    std: float = 0.1,
    config: ToyRunConfig = ToyRunConfig(),
    init: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Train ``config.runs`` Gaussian policies N(mean, std^2 I) (mean starts at ``init`` (d,),
    default 0). Returns curves (steps, runs): ``distance`` |mean - target| and ``grad_norm``
    (before clipping). Temperature and entropy knobs are ignored (the std is fixed)."""
    c, d = config, len(toy.target)
    start = torch.zeros(d) if init is None else init.detach().float()
    runs = _Runs(start.expand(c.runs, d), c)
    target = torch.tensor(toy.target)  # (d,)
    out = {"distance": [], "grad_norm": []}
    for step in range(c.steps):
        mean = runs.param  # (runs, d)
        x = mean.detach()[:, None] + std * torch.randn(c.runs, c.batch, d, generator=runs.gen)
        rewards = toy.reward(x)  # (runs, batch)
        log_probs = gaussian_log_prob(x, mean[:, None].expand(-1, c.batch, -1), std)  # (R, B)
        b = runs.baseline()
        adv_base = None if b is None else b.expand(-1, c.batch).flatten()
        loss = (
            reinforce_loss(
                log_probs.flatten(), rewards.flatten(), adv_base, scale=runs.scale(rewards)
            )
            * c.runs
        )
        out["grad_norm"].append(runs.step(step, loss))
        runs.update_baseline(rewards)
        with torch.no_grad():
            out["distance"].append((runs.param - target).norm(dim=1))
    return {name: torch.stack(values) for name, values in out.items()}  # each (steps, runs)
