"""Gradient checkpointing: store less in the forward pass, recompute it in the backward pass.

Backpropagation needs each layer's intermediate activations (for attention: the (heads, n, n)
weights), so training memory grows with depth x length. ``torch.utils.checkpoint`` runs a
block's forward *without* keeping its intermediates, keeps only the block's input, and runs the
forward again during the backward pass when they are needed. Memory: one block's intermediates
plus every block's input, instead of every block's intermediates. Time: about one extra forward
pass (a forward is about a third of a training step).

Shapes: ``x`` (batch, n, d_model).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from course_lib.core.shapes import expect_positive_int, expect_shape
from course_lib.core.transformer import TransformerBlock, TransformerConfig
from course_lib.scale.memory import in_child, peak_here


class TransformerStack(nn.Module):
    """``depth`` of the course's pre-norm :class:`TransformerBlock` s; ``checkpointed=True``
    recomputes each block's forward during the backward pass instead of storing it."""

    def __init__(self, config: TransformerConfig, depth: int, checkpointed: bool = False):
        super().__init__()
        expect_positive_int(depth, "depth")
        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(depth))
        self.checkpointed = checkpointed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expect_shape(x, "batch, n, d_model", name="x")
        for block in self.blocks:
            if self.checkpointed and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)  # keeps x only; re-runs block
            else:
                x = block(x)  # keeps every intermediate for the backward pass
        return x  # (batch, n, d_model)


@dataclass(frozen=True)
class StepCost:
    """One training step of a stack: peak memory above the model, inputs and gradients
    (bytes), and the fastest of a few timed steps (seconds of CPU time on one thread)."""

    depth: int
    n: int
    checkpointed: bool
    peak_bytes: int
    seconds: float


def _training_step_cost(
    depth: int, n: int, checkpointed: bool, d_model: int, n_heads: int, batch: int, repeats: int
) -> float:
    """Peak bytes of one step (``repeats=0``) or the fastest of ``repeats`` steps (seconds of
    CPU time: the child runs torch on one thread)."""
    torch.manual_seed(0)
    config = TransformerConfig(d_model=d_model, n_heads=n_heads, d_ff=4 * d_model)
    model = TransformerStack(config, depth, checkpointed)
    x = torch.randn(batch, n, d_model)  # (batch, n, d_model)

    def step() -> None:
        loss = model(x).pow(2).mean()
        loss.backward()

    step()  # warm-up: allocates the gradients, which both variants need
    if repeats == 0:
        return peak_here(step)
    seconds = []
    for _ in range(repeats):  # CPU time of this (only) thread: other processes do not count
        start = time.thread_time()
        step()
        seconds.append(time.thread_time() - start)
    return min(seconds)


def training_step_cost(
    depth: int,
    n: int,
    checkpointed: bool,
    d_model: int = 64,
    n_heads: int = 4,
    batch: int = 4,
    repeats: int = 5,
) -> StepCost:
    """Measure one forward + backward step of a :class:`TransformerStack` on random input,
    each number in its own fresh process on one thread (see :mod:`course_lib.scale.memory`)."""
    for name, value in (("depth", depth), ("n", n), ("d_model", d_model), ("batch", batch)):
        expect_positive_int(value, name)
    expect_positive_int(repeats, "repeats")
    TransformerConfig(d_model=d_model, n_heads=n_heads)  # checks that the heads divide d_model
    sizes = (depth, n, checkpointed, d_model, n_heads, batch)
    peak = in_child(_training_step_cost, *sizes, 0)
    seconds = in_child(_training_step_cost, *sizes, repeats, for_memory=False)
    return StepCost(depth, n, checkpointed, int(peak), seconds)
