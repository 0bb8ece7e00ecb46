"""Positional encodings: sinusoidal (Vaswani et al., 2017), learned (BERT, GPT-2) and rotary
(RoPE, Su et al., 2021).

Self-attention compares every token with every other one and sums the values with weights that
do not depend on *where* the tokens are: permute the input and the output is permuted the same
way. A model that must know the order gets positions from outside:

- :func:`sinusoidal_encoding` / :class:`SinusoidalPositions`: a fixed table of sines and cosines
  of geometrically spaced frequencies, added to the token embeddings;
- :class:`LearnedPositions`: one trained vector per position, added the same way (it knows
  nothing beyond the ``max_len`` positions it was trained on);
- :func:`rotate` (RoPE): rotates each pair of query and key features by an angle proportional
  to the position, so that ``q_i . k_j`` depends on the offset ``i - j`` only; nothing is added
  to the values. :class:`course_lib.core.mha_extensions.ExtendedMultiHeadAttention` applies it in
  every head.

Shapes: ``x`` (batch, n, d); tables (n, d); per-head ``q, k`` (..., n, d_head).
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape


def _check_even(d: int, name: str) -> int:
    expect_positive_int(d, name)
    if d % 2:
        raise ValueError(f"{name}: expected an even feature size (pairs of sin/cos), got {d}")
    return d


def frequencies(d: int, base: float = 10_000.0) -> torch.Tensor:
    """The ``d // 2`` angular frequencies ``base ** (-2i / d)``, from 1 down to ~1/base: (d/2,)."""
    _check_even(d, "d")
    return base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)  # (d/2,)


def sinusoidal_encoding(n: int, d: int, base: float = 10_000.0) -> torch.Tensor:
    """``PE[p, 2i] = sin(p w_i)``, ``PE[p, 2i + 1] = cos(p w_i)`` with ``w_i = base^(-2i/d)``:
    (n, d)."""
    expect_positive_int(n, "n")
    angles = torch.arange(n, dtype=torch.float32)[:, None] * frequencies(d, base)  # (n, d/2)
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(-2)  # (n, d)


class SinusoidalPositions(nn.Module):
    """Adds :func:`sinusoidal_encoding` to ``x`` (batch, n, d); no parameters, any length."""

    def __init__(self, d_model: int, base: float = 10_000.0) -> None:
        super().__init__()
        self.d_model, self.base = _check_even(d_model, "d_model"), base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(x, "batch, n, d", name="x")
        expect_match("x and d_model feature sizes", {"x.d": sizes["d"], "d_model": self.d_model})
        return x + sinusoidal_encoding(sizes["n"], self.d_model, self.base).to(x)  # (batch, n, d)


class LearnedPositions(nn.Module):
    """Adds a trained vector per position (``max_len`` of them) to ``x`` (batch, n, d)."""

    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        self.max_len = expect_positive_int(max_len, "max_len")
        self.table = nn.Embedding(max_len, expect_positive_int(d_model, "d_model"))
        nn.init.normal_(self.table.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(x, "batch, n, d", name="x")
        if sizes["n"] > self.max_len:
            raise ValueError(
                f"x: dim 1 (n) is {sizes['n']}, longer than the "
                f"max_len={self.max_len} positions this table has learned"
            )
        return x + self.table.weight[: sizes["n"]]  # (batch, n, d)


def rotate(x: torch.Tensor, offset: int = 0, base: float = 10_000.0) -> torch.Tensor:
    """RoPE: rotate each feature pair ``(x[2i], x[2i+1])`` of the token at position ``p``
    (``offset``, ``offset + 1``, ...) by the angle ``p w_i``. ``x`` (..., n, d) -> same shape.

    Rotations keep lengths, and ``rotate(q)_i . rotate(k)_j`` depends on ``i - j`` only.
    """
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        raise ValueError(f"x: expected a tensor (..., n, d), got {getattr(x, 'shape', x)!r}")
    n, d = x.shape[-2], _check_even(x.shape[-1], "x: dim -1 (d)")
    positions = torch.arange(offset, offset + n, dtype=torch.float32)  # (n,)
    angles = positions[:, None] * frequencies(d, base)  # (n, d/2)
    cos, sin = angles.cos().to(x), angles.sin().to(x)  # (n, d/2)
    even, odd = x[..., 0::2], x[..., 1::2]  # (..., n, d/2)
    pairs = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)  # (.., n, d/2, 2)
    return pairs.flatten(-2)  # (..., n, d): features back in the order 2i, 2i + 1
