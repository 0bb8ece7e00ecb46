"""Training by optimizer steps with the levers that keep a transformer's training stable:
learning-rate warm-up, gradient-norm clipping (and, in the model, attention dropout), recording
per-step curves of the loss, the gradient norm and the learning rate.

:func:`course_lib.training.fit` is the course's loop by epochs; this one counts optimizer steps
because the levers act per step: warm-up raises the learning rate linearly from ~0 over the
first ``warmup`` steps (then it stays, decays as ``1/sqrt(step)`` with ``decay="rsqrt"`` or
follows a cosine to 0 with ``decay="cosine"``), and clipping rescales any gradient whose norm is
above ``clip_grad``. Adam's first updates move *every* parameter by about the learning rate,
whatever the size of its gradient, so a large learning rate from step 1 can throw a fresh
transformer far off; warm-up lets Adam's second-moment estimates settle first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from .training import seed_everything


@dataclass(frozen=True)
class StepConfig:
    """``steps`` optimizer steps at peak learning rate ``lr``, reached after ``warmup`` steps;
    ``decay``: ``"none"`` (constant after warm-up), ``"rsqrt"`` (``lr * sqrt(warmup / step)``)
    or ``"cosine"`` (to 0 at the last step); ``clip_grad``: max gradient norm or ``None``;
    ``optimizer``: ``"adamw"`` (with ``betas``, ``weight_decay``) or ``"sgd"`` (momentum 0.9)."""

    steps: int = 1000
    lr: float = 1e-3
    warmup: int = 0
    decay: str = "none"
    clip_grad: float | None = None
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.98)
    optimizer: str = "adamw"
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps: expected a positive int, got {self.steps!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup: expected an int >= 0, got {self.warmup!r}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected > 0, got {self.lr!r}")
        if self.decay not in ("none", "rsqrt", "cosine"):
            raise ValueError(f"decay: expected 'none', 'rsqrt' or 'cosine', got {self.decay!r}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"optimizer: expected 'adamw' or 'sgd', got {self.optimizer!r}")
        if self.clip_grad is not None and not self.clip_grad > 0:
            raise ValueError(f"clip_grad: expected > 0 or None, got {self.clip_grad!r}")
        object.__setattr__(self, "betas", tuple(self.betas))  # a list from a checkpoint


def lr_factor(step: int, config: StepConfig) -> float:
    """The learning rate of optimizer step ``step`` (1-based) as a fraction of ``config.lr``."""
    warm = min(1.0, step / config.warmup) if config.warmup else 1.0
    if config.decay == "rsqrt" and step > config.warmup:
        return math.sqrt(max(config.warmup, 1) / step)
    if config.decay == "cosine":
        start = max(config.warmup, 1)
        progress = min(1.0, max(0.0, (step - start) / max(config.steps - start, 1)))
        return warm * 0.5 * (1 + math.cos(math.pi * progress))
    return warm


@dataclass
class StepHistory:
    """Per-step ``loss``, ``grad_norm`` (before clipping) and ``lr``; ``metric`` at the steps
    in ``metric_steps``; ``seconds`` of training (evaluation excluded)."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    metric_steps: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _forever(batches: Callable[[int], Iterable[tuple]]) -> Iterator[tuple]:
    epoch = 0
    while True:
        epoch += 1
        empty = True
        for batch in batches(epoch):
            empty = False
            yield batch
        if empty:
            raise ValueError("batches: yielded no batch in an epoch")


def train_steps(
    model: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    batches: Callable[[int], Iterable[tuple]],
    config: StepConfig,
    evaluate: Callable[[nn.Module], float] | None = None,
    eval_every: int = 0,
    desc: str = "training",
) -> StepHistory:
    """Train ``model`` for ``config.steps`` optimizer steps; ``batches(epoch)`` yields tuples for
    ``loss_fn(model, *batch)`` and is called again (epoch 2, 3, ...) when it runs out.
    ``evaluate(model)`` runs every ``eval_every`` steps and at the end, under ``no_grad``.
    A loss that is not finite is recorded and training goes on (that is what we want to see)."""
    if eval_every and evaluate is None:
        raise ValueError("evaluate: eval_every > 0 needs an evaluate function")
    seed_everything(config.seed)
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay
        )
    else:
        opt = torch.optim.AdamW(
            model.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay
        )
    history = StepHistory()
    stream = _forever(batches)
    bar = tqdm(range(1, config.steps + 1), desc=desc, leave=False)
    for step in bar:
        model.train()
        start = time.perf_counter()
        lr = config.lr * lr_factor(step, config)
        for group in opt.param_groups:
            group["lr"] = lr
        loss = loss_fn(model, *next(stream))
        opt.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad or math.inf)
        opt.step()
        history.seconds += time.perf_counter() - start
        history.loss.append(loss.item())
        history.grad_norm.append(float(norm))
        history.lr.append(lr)
        if evaluate is not None and (
            (eval_every and step % eval_every == 0) or step == config.steps
        ):
            model.eval()
            with torch.no_grad():
                history.metric.append(float(evaluate(model)))
            history.metric_steps.append(step)
        if step % 10 == 0 or step == config.steps:
            postfix = {"loss": f"{history.loss[-1]:.4f}"}
            if history.metric:
                postfix["metric"] = f"{history.metric[-1]:.4f}"
            bar.set_postfix(postfix)
    bar.close()
    final = f"final loss {history.loss[-1]:.4f}"
    if history.metric:
        final += f", metric {history.metric[-1]:.4f}"
    print(f"{desc}: {config.steps} steps in {history.seconds:.1f} s, {final}")
    model.eval()
    return history
