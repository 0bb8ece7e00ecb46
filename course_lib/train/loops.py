"""The course's one family of training loops, with ``tqdm.auto`` progress bars. Every loop takes
``batches(epoch)`` (epochs 0, 1, 2, ...), so data can be drawn afresh each epoch from a seed.

- :func:`fit` counts epochs (:func:`fit_stages`: several stages of epochs, a step schedule);
- :func:`train_steps` counts optimizer steps, because the levers that keep a transformer's
  training stable act per step: learning-rate warm-up and decay
  (:func:`course_lib.train.schedules.lr_factor`) and gradient-norm clipping; it records per-step
  curves of the loss, the gradient norm and the learning rate;
- :func:`batch_stream` turns ``batches(epoch)`` into one stream of steps, for
  :func:`train_steps` and lesson 05's policy loop (:mod:`course_lib.hard.policy_training`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from course_lib.core.shapes import expect_positive_int
from course_lib.train.schedules import DECAYS, lr_factor
from course_lib.train.utils import seed_everything

#: ``batches(epoch)``: the mini-batches of epoch 0, 1, 2, ... (tuples of ``loss_fn``'s inputs).
#: Every loop of the course calls it so, once per epoch, so that data can be drawn afresh for
#: each epoch from a seed that depends on it.
Batches = Callable[[int], Iterable[tuple]]
#: ``stages``: ``((epochs, learning rate), ...)`` run one after the other (a step schedule).
Stages = Sequence[tuple[int, float]]


@dataclass
class History:
    """Per-epoch mean training loss (and optional validation metric)."""

    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)


def optimizer_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, clip_grad: float | None
) -> float:
    """One training step on ``loss`` (a scalar computed from a batch): clear the old gradients,
    backpropagate, clip their total norm to ``clip_grad`` (None: no clipping), update.
    Returns the gradient norm before clipping. :func:`fit` and :func:`train_steps` call it."""
    optimizer.zero_grad()  # .grad accumulates across backward calls: start from zero
    loss.backward()  # d loss / d parameter, stored in each parameter's .grad
    norm = nn.utils.clip_grad_norm_(model.parameters(), clip_grad or math.inf)  # rescale if > clip
    optimizer.step()  # move each parameter against its gradient (Adam: rescaled per parameter)
    return float(norm)


def fit(
    model: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    batches: Batches,
    epochs: int,
    lr: float = 1e-2,
    seed: int = 0,
    optimizer: str = "adam",
    clip_grad: float | None = None,
    evaluate: Callable[[nn.Module], float] | None = None,
    desc: str = "training",
    first_epoch: int = 0,
) -> History:
    """Train ``model`` for ``epochs`` passes and return the loss history.

    ``batches(epoch)`` is called once per epoch (``first_epoch``, ``first_epoch + 1``, ...) and
    yields tuples ``batch``; each step computes ``loss_fn(model, *batch)``. ``evaluate(model)``
    (optional) is called after each epoch under ``torch.no_grad()`` and its value is shown on
    the progress bar.
    """
    expect_positive_int(epochs, "epochs")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
    seed_everything(seed)
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    opt = opt_cls(model.parameters(), lr=lr)
    history = History()
    bar = tqdm(range(first_epoch, first_epoch + epochs), desc=desc, leave=False)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for batch in batches(epoch):
            loss = loss_fn(model, *batch)
            optimizer_step(model, opt, loss, clip_grad)
            total, count = total + loss.item(), count + 1
        if count == 0:
            raise ValueError(f"batches: yielded no batch in epoch {epoch}")
        history.loss.append(total / count)
        postfix = {"loss": f"{history.loss[-1]:.4f}"}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                history.metric.append(float(evaluate(model)))
            postfix["metric"] = f"{history.metric[-1]:.4f}"
        bar.set_postfix(postfix)
    bar.close()
    # The live bar disappears (leave=False); this line stays in the saved notebook.
    summary = ", ".join(f"{name} {value}" for name, value in postfix.items())
    print(f"{desc}: {epochs} epochs, final {summary}")
    model.eval()
    return history


def fit_stages(
    model: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    batches: Batches,
    stages: Stages,
    seed: int = 0,
    desc: str = "training",
    **options: object,
) -> History:
    """:func:`fit` once per stage ``(epochs, lr)``, a fresh optimizer each (seeded
    ``seed + stage``), epochs numbered on across stages; returns the joined history.
    ``options``: :func:`fit`'s ``optimizer``, ``clip_grad``, ``evaluate``."""
    if not stages:
        raise ValueError("stages: expected at least one (epochs, lr) pair")
    history, done = History(), 0
    for stage, (epochs, lr) in enumerate(stages):
        part = fit(
            model,
            loss_fn,
            batches,
            epochs,
            lr=lr,
            seed=seed + stage,
            desc=f"{desc} (lr {lr:g})",
            first_epoch=done,
            **options,
        )
        history.loss += part.loss
        history.metric += part.metric
        done += epochs
    return history


@dataclass(frozen=True)
class StepConfig:
    """``steps`` optimizer steps at peak learning rate ``lr``, reached after ``warmup`` steps,
    then ``decay`` (:func:`~course_lib.train.schedules.lr_factor`: ``"none"``, ``"linear"`` to
    ``final * lr``, ``"cosine"`` to 0, ``"rsqrt"``); ``clip_grad``: max gradient norm or
    ``None``; ``optimizer``: ``"adamw"`` (with ``betas``, ``weight_decay``), ``"adam"`` (with
    ``betas``) or ``"sgd"`` (momentum 0.9)."""

    steps: int = 1000
    lr: float = 1e-3
    warmup: int = 0
    decay: str = "none"
    clip_grad: float | None = None
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.98)
    optimizer: str = "adamw"
    seed: int = 0
    final: float = 0.0

    def __post_init__(self) -> None:
        expect_positive_int(self.steps, "steps")
        expect_positive_int(self.warmup, "warmup", minimum=0)
        if not self.lr > 0:
            raise ValueError(f"lr: expected > 0, got {self.lr!r}")
        if self.decay not in DECAYS:
            raise ValueError(f"decay: expected one of {DECAYS}, got {self.decay!r}")
        if self.optimizer not in ("adamw", "adam", "sgd"):
            raise ValueError(
                f"optimizer: expected 'adamw', 'adam' or 'sgd', got {self.optimizer!r}"
            )
        if self.clip_grad is not None and not self.clip_grad > 0:
            raise ValueError(f"clip_grad: expected > 0 or None, got {self.clip_grad!r}")
        object.__setattr__(self, "betas", tuple(self.betas))  # a list from a checkpoint


@dataclass
class StepHistory:
    """Per-step ``loss``, ``grad_norm`` (before clipping) and ``lr``; ``metric`` at the steps
    in ``metric_steps``; ``seconds`` of training (evaluation excluded); ``records``: the other
    per-step numbers a ``loss_fn`` returns (``(loss, {"accuracy": ...})``)."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    metric_steps: list[int] = field(default_factory=list)
    seconds: float = 0.0
    records: dict[str, list[float]] = field(default_factory=dict)


def batch_stream(batches: Batches) -> Iterator[tuple]:
    """The mini-batches of epochs 0, 1, 2, ... one after the other, for loops that count
    optimizer steps rather than epochs."""
    epoch = 0
    while True:
        empty = True
        for batch in batches(epoch):
            empty = False
            yield batch
        if empty:
            raise ValueError(f"batches: yielded no batch in epoch {epoch}")
        epoch += 1


def train_steps(
    model: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    batches: Batches,
    config: StepConfig,
    evaluate: Callable[[nn.Module], float] | None = None,
    eval_every: int = 0,
    desc: str = "training",
) -> StepHistory:
    """Train ``model`` for ``config.steps`` optimizer steps; ``batches(epoch)`` yields tuples for
    ``loss_fn(model, *batch)`` and is called again (epoch 1, 2, ...) when it runs out.
    ``loss_fn`` returns the loss, or ``(loss, stats)`` with more numbers to record per step.
    ``evaluate(model)`` runs every ``eval_every`` steps and at the end, under ``no_grad``.
    A loss that is not finite is recorded and training goes on (that is what we want to see)."""
    if eval_every and evaluate is None:
        raise ValueError("evaluate: eval_every > 0 needs an evaluate function")
    seed_everything(config.seed)
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay
        )
    elif config.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas)
    else:
        opt = torch.optim.AdamW(
            model.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay
        )
    history = StepHistory()
    stream = batch_stream(batches)
    bar = tqdm(range(1, config.steps + 1), desc=desc, leave=False)
    for step in bar:
        model.train()
        start = time.perf_counter()
        lr = config.lr * lr_factor(step, config.steps, config.warmup, config.decay, config.final)
        for group in opt.param_groups:
            group["lr"] = lr
        loss = loss_fn(model, *next(stream))
        loss, stats = loss if isinstance(loss, tuple) else (loss, {})
        norm = optimizer_step(model, opt, loss, config.clip_grad)
        history.seconds += time.perf_counter() - start
        history.loss.append(loss.item())
        history.grad_norm.append(norm)
        history.lr.append(lr)
        for name, value in stats.items():
            history.records.setdefault(name, []).append(float(value))
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
