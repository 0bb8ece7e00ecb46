"""Seeding and a small training loop with a ``tqdm.auto`` progress bar."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a ``torch.Generator`` seeded the same way."""
    if not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class History:
    """Per-epoch mean training loss (and optional validation metric)."""

    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)


def fit(
    model: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    batches: Callable[[], Iterable[tuple]],
    epochs: int,
    lr: float = 1e-2,
    seed: int = 0,
    optimizer: str = "adam",
    clip_grad: float | None = None,
    evaluate: Callable[[nn.Module], float] | None = None,
    desc: str = "training",
) -> History:
    """Train ``model`` for ``epochs`` passes and return the loss history.

    ``batches()`` is called once per epoch and yields tuples ``batch``; each step computes
    ``loss_fn(model, *batch)``. ``evaluate(model)`` (optional) is called after each epoch
    under ``torch.no_grad()`` and its value is shown on the progress bar.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
    seed_everything(seed)
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    opt = opt_cls(model.parameters(), lr=lr)
    history = History()
    bar = tqdm(range(epochs), desc=desc, leave=False)
    for _ in bar:
        model.train()
        total, count = 0.0, 0
        for batch in batches():
            loss = loss_fn(model, *batch)
            opt.zero_grad()
            loss.backward()
            if clip_grad is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            opt.step()
            total, count = total + loss.item(), count + 1
        if count == 0:
            raise ValueError("batches: yielded no batch in an epoch")
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
