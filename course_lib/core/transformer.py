"""A generic pre-norm transformer block: multi-head self-attention, optional cross-attention,
an MLP. Lessons 03 (transformers) and 04 (DETR-lite, ViT-lite) build on it.

Multi-head attention projects queries, keys and values, splits the features into ``n_heads``
heads, runs :func:`course_lib.core.attention.attention` (scaled dot product, masks) on every head
at once by folding the heads into the batch, and mixes the heads with an output projection.
Positions can be added to queries and keys only (``q_pos``, ``k_pos``), as DETR does, or to the
input once, as the original transformer does.

Shapes: ``x`` (batch, T, d_model); ``memory`` (batch, S, d_model); masks bool, ``True`` = may
attend, broadcastable to (batch, T, T) / (batch, T, S); weights (batch, heads, T, keys).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.core.attention import attention
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape


@dataclass(frozen=True)
class TransformerConfig:
    """``d_model`` features split into ``n_heads`` heads; an MLP of ``d_ff`` hidden units."""

    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 128
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "d_ff"):
            expect_positive_int(getattr(self, name), name)
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads: must divide d_model = {self.d_model}, got {self.n_heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: expected a number in [0, 1), got {self.dropout!r}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(batch, T, d_model) -> (batch, n_heads, T, d_model // n_heads): head h gets features
    h * d_head ... (h + 1) * d_head - 1 of every token."""
    expect_positive_int(n_heads, "n_heads")
    batch, length, d_model = expect_shape(x, "batch, T, d_model", name="x").values()
    if d_model % n_heads:
        raise ValueError(f"n_heads: {n_heads} does not divide d_model = {d_model}")
    return x.reshape(batch, length, n_heads, d_model // n_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(batch, n_heads, T, d_head) -> (batch, T, n_heads * d_head): undoes :func:`split_heads`."""
    batch, heads, length, d_head = expect_shape(x, "batch, heads, T, d_head", name="x").values()
    return x.transpose(1, 2).reshape(batch, length, heads * d_head)  # (batch, T, d_model)


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention. ``forward`` returns the output
    (batch, T, d_model) and the weights (batch, heads, T, S); the last weights are also kept
    in ``self.last_weights`` (detached) for plotting."""

    def __init__(self, config: TransformerConfig = TransformerConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(d, d) for _ in range(3))
        self.out_proj = nn.Linear(d, d)
        self.last_weights: torch.Tensor | None = None

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, L, d_model) -> (batch*heads, L, d_head): every head as its own sequence."""
        return split_heads(x, self.config.n_heads).flatten(0, 1)  # (batch*heads, L, d_head)

    def _attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention on every head at once, the step a subclass may change: ``q``
        (batch*heads, T, d_head), ``k``, ``v`` (batch*heads, S, d_head), ``mask``
        (batch*heads, T, S) or None -> output (batch*heads, T, d_head), weights
        (batch*heads, T, S)."""
        return attention(q, k, v, mask)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        qs = expect_shape(query, "batch, T, d_model", name="query")
        ks = expect_shape(key, "batch, S, d_model", name="key")
        vs = expect_shape(value, "batch, S, d_model", name="value")
        d = self.config.d_model
        expect_match(
            "query, key, value and d_model feature sizes",
            {
                "query.d": qs["d_model"],
                "key.d": ks["d_model"],
                "value.d": vs["d_model"],
                "d_model": d,
            },
        )
        expect_match("key and value lengths", {"key.S": ks["S"], "value.S": vs["S"]})
        batch, length, heads = qs["batch"], qs["T"], self.config.n_heads
        q = self._split(self.q_proj(query))  # (batch*heads, T, d_head)
        k = self._split(self.k_proj(key))  # (batch*heads, S, d_head)
        v = self._split(self.v_proj(value))  # (batch*heads, S, d_head)
        if mask is not None:  # (batch, T, S) or broadcastable -> one copy per head
            mask = torch.broadcast_to(mask, (batch, length, ks["S"]))  # (batch, T, S)
            mask = mask.repeat_interleave(heads, dim=0)  # (batch*heads, T, S)
        out, weights = self._attend(q, k, v, mask)  # (batch*heads, T, d_head), (b*h, T, S)
        out = merge_heads(out.reshape(batch, heads, length, -1))  # (batch, T, d_model)
        weights = weights.reshape(batch, heads, length, ks["S"])  # (batch, heads, T, S)
        self.last_weights = weights.detach()
        return self.out_proj(out), weights  # (batch, T, d_model)


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + SelfAttn(LN(x))``, then (if ``cross``) ``x + CrossAttn(LN(x),
    memory)``, then ``x + MLP(LN(x))``. ``forward(x, memory=None, ...)`` -> (batch, T, d_model).
    """

    def __init__(self, config: TransformerConfig = TransformerConfig(), cross: bool = False):
        super().__init__()
        self.config = config
        d = config.d_model
        self.norm_self, self.self_attn = nn.LayerNorm(d), MultiHeadAttention(config)
        self.cross = cross
        if cross:
            self.norm_cross, self.cross_attn = nn.LayerNorm(d), MultiHeadAttention(config)
        self.norm_mlp = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, config.d_ff), nn.GELU(), nn.Linear(config.d_ff, d))
        self.drop = nn.Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        x_pos: torch.Tensor | None = None,
        memory_pos: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``x`` (batch, T, d); ``memory`` (batch, S, d) for cross-attention; ``x_pos``
        (batch or 1, T, d) and ``memory_pos`` (batch or 1, S, d) are added to queries and keys
        (not to values) when given."""
        expect_shape(x, "batch, T, d_model", name="x")
        if self.cross and memory is None:
            raise ValueError("memory: a cross-attention block needs memory (batch, S, d_model)")
        if not self.cross and memory is not None:
            raise ValueError("memory: this block has no cross-attention (cross=False)")
        h = self.norm_self(x)  # (batch, T, d)
        q = h if x_pos is None else h + x_pos
        x = x + self.drop(self.self_attn(q, q, h, self_mask)[0])  # (batch, T, d)
        if self.cross:
            h = self.norm_cross(x)
            q = h if x_pos is None else h + x_pos
            k = memory if memory_pos is None else memory + memory_pos  # (batch, S, d)
            x = x + self.drop(self.cross_attn(q, k, memory, memory_mask)[0])  # (batch, T, d)
        return x + self.drop(self.mlp(self.norm_mlp(x)))  # (batch, T, d)
