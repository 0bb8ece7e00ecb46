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

import math
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


def _stack_and_step(depth: int, n: int, checkpointed: bool, sizes: tuple[int, int, int]):
    """A seeded stack (the same weights for both variants) and its training step."""
    d_model, n_heads, batch = sizes
    torch.manual_seed(0)
    config = TransformerConfig(d_model=d_model, n_heads=n_heads, d_ff=4 * d_model)
    model = TransformerStack(config, depth, checkpointed)
    x = torch.randn(batch, n, d_model)  # (batch, n, d_model)

    def step() -> None:
        model(x).pow(2).mean().backward()

    step()  # warm-up: allocates the gradients, which both variants need
    return step


def _peak_bytes(depth: int, n: int, checkpointed: bool, sizes: tuple[int, int, int]) -> int:
    return peak_here(_stack_and_step(depth, n, checkpointed, sizes))


def _seconds(depth: int, n: int, sizes: tuple[int, int, int], repeats: int) -> dict[bool, float]:
    """Fastest CPU time of a plain and a checkpointed step, timed in turns (so that a slow
    moment of the machine spoils one sample of each rather than all samples of one)."""
    steps = {ck: _stack_and_step(depth, n, ck, sizes) for ck in (False, True)}
    best = {False: math.inf, True: math.inf}
    for _ in range(repeats):
        for ck, step in steps.items():  # CPU time of this (only) thread
            start = time.thread_time()
            step()
            best[ck] = min(best[ck], time.thread_time() - start)
    return best


def checkpointing_cost(
    depth: int,
    n: int,
    d_model: int = 64,
    n_heads: int = 4,
    batch: int = 4,
    repeats: int = 5,
) -> tuple[StepCost, StepCost]:
    """One forward + backward step of a :class:`TransformerStack` on random input, plain and
    checkpointed: ``(plain, checkpointed)``. Each peak is measured in its own fresh process,
    the two times in one more, in turns, on one thread (see :mod:`course_lib.scale.memory`)."""
    for name, value in (("depth", depth), ("n", n), ("d_model", d_model), ("batch", batch)):
        expect_positive_int(value, name)
    expect_positive_int(repeats, "repeats")
    TransformerConfig(d_model=d_model, n_heads=n_heads)  # checks that the heads divide d_model
    sizes = (d_model, n_heads, batch)
    seconds = in_child(_seconds, depth, n, sizes, repeats, for_memory=False)
    return tuple(
        StepCost(depth, n, ck, int(in_child(_peak_bytes, depth, n, ck, sizes)), seconds[ck])
        for ck in (False, True)
    )
