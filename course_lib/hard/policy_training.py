"""One training loop for models with a hard-attention policy, and the stability knobs of
lesson 05: learning-rate warm-up, gradient clipping, annealing of the policy's spread (Gaussian
std or softmax temperature) and of an entropy bonus, the kind of baseline and reward
normalisation.

A model trained here has a method

``loss(images, labels, pg, spread, entropy_weight, reinforce_weight, generator)``
``-> (loss: scalar tensor, stats: dict[str, float])``

where ``pg`` is a :class:`~course_lib.hard.reinforce.PolicyGradient` (the REINFORCE and baseline
terms) and ``spread`` is the policy's std or temperature at this step (``None``: the model's
own). ``stats`` holds at least ``"reward"``; every entry is recorded per step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from course_lib.core.shapes import expect_positive_int
from course_lib.hard.reinforce import PolicyGradient, flat_grad, linear_schedule
from course_lib.train.loops import Batches, batch_stream
from course_lib.train.schedules import lr_factor


@dataclass(frozen=True)
class PolicyTrainConfig:
    """``steps`` steps of ``optimizer`` (Adam, or SGD with momentum 0.9) at ``lr`` (linear
    ``warmup``, then a linear decay to ``decay * lr`` at the last step), gradient-norm
    ``clip`` (None: off);
    ``spread`` and ``entropy`` are (start, end) pairs annealed linearly over ``anneal_steps``
    (``spread=None``: the model's fixed value); ``baseline`` and ``normalize`` as in
    :class:`~course_lib.hard.reinforce.PolicyGradient`."""

    steps: int = 1000
    lr: float = 1e-3
    optimizer: str = "adam"
    warmup: int = 0
    decay: float = 1.0
    clip: float | None = None
    spread: tuple[float, float] | None = None
    entropy: tuple[float, float] = (0.0, 0.0)
    anneal_steps: int = 1
    reinforce_weight: float = 1.0
    baseline: str = "learned"
    normalize: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "anneal_steps"):
            expect_positive_int(getattr(self, name), name)
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {self.optimizer!r}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected > 0, got {self.lr}")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clip: expected None or > 0, got {self.clip}")


@dataclass
class PolicyHistory:
    """Per-step records (``records[name]``: one float per step), periodic evaluations and the
    wall-clock seconds of the run."""

    records: dict[str, list[float]] = field(default_factory=dict)
    eval_steps: list[int] = field(default_factory=list)
    eval_metric: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def smooth(self, name: str, window: int = 25) -> list[float]:
        """Running mean of ``records[name]`` over the last ``window`` steps (for curves)."""
        values = self.records[name]
        out, total = [], 0.0
        for i, v in enumerate(values):
            total += v - (values[i - window] if i >= window else 0.0)
            out.append(total / min(i + 1, window))
        return out

    def to_dict(self) -> dict:
        return {
            "records": self.records,
            "eval_steps": self.eval_steps,
            "eval_metric": self.eval_metric,
            "seconds": self.seconds,
        }


def train_policy(
    model: nn.Module,
    batches: Batches,
    config: PolicyTrainConfig = PolicyTrainConfig(),
    evaluate: Callable[[nn.Module], float] | None = None,
    eval_every: int = 0,
    desc: str = "training",
) -> PolicyHistory:
    """Train ``model`` (see the module docstring) for ``config.steps`` steps.

    ``batches(epoch)`` yields ``(images, labels)`` mini-batches of one epoch; it is called
    again with the next epoch number when they run out (fresh placements each epoch).
    ``evaluate(model)`` (e.g. a test error) runs every ``eval_every`` steps and at the end.
    Records per step: the model's stats, ``loss``, ``grad_norm`` (before clipping; and
    ``policy_grad_norm`` of ``model.policy_parameters()`` when the model has them), ``lr``,
    ``spread`` (NaN when fixed) and ``entropy_weight``.
    """
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    opt = (
        torch.optim.Adam(model.parameters(), lr=config.lr)
        if config.optimizer == "adam"
        else torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)
    )
    policy = list(model.policy_parameters()) if hasattr(model, "policy_parameters") else []
    spread = None if config.spread is None else linear_schedule(*config.spread, config.anneal_steps)
    entropy = linear_schedule(*config.entropy, config.anneal_steps)
    pg = PolicyGradient(config.baseline, config.normalize)
    history = PolicyHistory()
    start, stream = time.monotonic(), batch_stream(batches)
    bar = tqdm(range(config.steps), desc=desc, leave=False)
    for step in bar:
        images, labels = next(stream)
        lr = config.lr * lr_factor(step + 1, config.steps, config.warmup, "linear", config.decay)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        s = None if spread is None else spread(step)
        loss, stats = model.loss(images, labels, pg, s, entropy(step), config.reinforce_weight, gen)
        opt.zero_grad()
        loss.backward()
        if policy:  # the REINFORCE part's own gradient norm, before any clipping
            stats["policy_grad_norm"] = float(
                torch.linalg.vector_norm(
                    torch.stack(
                        [torch.linalg.vector_norm(p.grad) for p in policy if p.grad is not None]
                    )
                )
            )
        limit = config.clip if config.clip is not None else float("inf")
        norm = float(nn.utils.clip_grad_norm_(model.parameters(), limit))
        opt.step()
        stats = dict(
            stats,
            loss=float(loss.detach()),
            grad_norm=norm,
            lr=lr,
            spread=float("nan") if s is None else s,
            entropy_weight=entropy(step),
        )
        for name, value in stats.items():
            history.records.setdefault(name, []).append(float(value))
        last = step == config.steps - 1
        if evaluate is not None and (last or (eval_every and (step + 1) % eval_every == 0)):
            with torch.no_grad():
                history.eval_steps.append(step + 1)
                history.eval_metric.append(float(evaluate(model)))
            model.train()
        if step % 25 == 0 or last:
            bar.set_postfix(reward=f"{history.smooth('reward', 50)[-1]:.3f}")
    bar.close()
    history.seconds = round(time.monotonic() - start, 1)
    # The live bar disappears (leave=False); this line stays in the saved notebook.
    print(
        f"{desc}: {config.steps} steps in {history.seconds:.0f} s, training reward "
        f"{history.smooth('reward', 50)[-1]:.3f} (mean of the last 50 steps)"
    )
    model.eval()
    return history


def policy_gradient_samples(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    baseline: str,
    repeats: int,
    seed: int = 0,
) -> torch.Tensor:
    """``repeats`` REINFORCE estimates of the policy's gradient on one fixed batch, each from
    fresh samples -> (repeats, n_policy_params).

    Only ``model.policy_parameters()`` are differentiated: the classification and baseline
    losses do not reach them (the detaching that :mod:`course_lib.hard.ram` tests), so this is the
    REINFORCE term alone, with ``baseline`` ``"learned"`` (the model's, as trained) or
    ``"none"``. Compare ``gradient_variance`` of both to see what the baseline buys.
    """
    expect_positive_int(repeats, "repeats", minimum=2)
    params = list(model.policy_parameters())
    gen = torch.Generator().manual_seed(seed)
    model.eval()  # no dropout or similar: the only randomness is the policy's samples
    rows = []
    for _ in range(repeats):
        loss, _ = model.loss(images, labels, PolicyGradient(baseline), None, 0.0, 1.0, gen)
        rows.append(flat_grad(loss, params))
    return torch.stack(rows)  # (repeats, n_policy_params)
