"""Local-window self-attention: each position attends to its ``window`` neighbours on each side.

Global self-attention scores every pair of positions: ``n^2`` scores for ``n`` tokens. A local
window keeps ``2 * window + 1`` scores per position. Putting a ``local_window_mask`` on the full
score matrix gives the same *result* but not the saving: the ``n x n`` scores are still
computed, then thrown away. :func:`banded_attention` computes only the band: it gathers each
position's window of keys with ``unfold`` into ``(..., n, 2w + 1, d)``, so time and memory grow
like ``n * (2w + 1)`` instead of ``n^2``. :func:`dense_local_attention` is the masked ``n x n``
version, the reference the banded one must equal. :func:`blocked_local_attention` computes
the same band a block of queries at a time, with matrix products: the fast way to get the
linear cost on a CPU.

Shapes: ``q, k, v`` (batch, heads, n, d); ``lengths`` (batch,); banded weights
(batch, heads, n, 2w + 1) where column ``o`` is the key at offset ``o - w``; dense weights
(batch, heads, n, n); ``bias`` (heads, 2w + 1): a learned score per relative offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.attention import scaled_dot_score
from course_lib.core.masks import local_window_mask, masked_softmax, padding_mask
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape


def _check_qkv(q, k, v, lengths, bias, window) -> dict[str, int]:
    qs = expect_shape(q, "batch, heads, n, d", name="q")
    for name, t in (("k", k), ("v", v)):
        ts = expect_shape(t, "batch, heads, n, d", name=name)
        expect_match(f"q and {name} shapes", {"q": tuple(q.shape), name: tuple(ts.values())})
    if lengths is not None:
        expect_shape(lengths, "batch", name="lengths")
        expect_match(
            "q and lengths batch sizes", {"q.batch": qs["batch"], "lengths.batch": len(lengths)}
        )
    if bias is not None:
        expect_shape(bias, f"heads, {2 * window + 1}", name="bias")
        expect_match("q and bias heads", {"q.heads": qs["heads"], "bias.heads": bias.shape[0]})
    return qs


def windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """Each position's neighbours: (..., n, d) -> (..., n, 2w + 1, d), zeros beyond the ends."""
    padded = F.pad(x, (0, 0, window, window))  # (..., n + 2w, d)
    return padded.unfold(-2, 2 * window + 1, 1).transpose(-1, -2)  # (..., n, 2w + 1, d)


def band_mask(lengths: torch.Tensor, n: int, window: int) -> torch.Tensor:
    """True where query ``i`` and its key at offset ``o - w`` are both real tokens:
    ``lengths`` (batch,) -> (batch, 1, n, 2w + 1)."""
    i = torch.arange(n)[:, None]  # (n, 1): query positions
    j = i + torch.arange(-window, window + 1)[None, :]  # (n, 2w + 1): key positions
    length = lengths[:, None, None]  # (batch, 1, 1)
    inside = (j >= 0)[None] & (j < length) & (i < length)  # (batch, n, 2w + 1)
    return inside[:, None]  # (batch, 1, n, 2w + 1)


def banded_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    window: int,
    lengths: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Local attention computed on the band only: O(n * (2w + 1)) scores.

    Returns ``out`` (batch, heads, n, d) and ``weights`` (batch, heads, n, 2w + 1).
    """
    window = expect_positive_int(window, "window", minimum=0)
    sizes = _check_qkv(q, k, v, lengths, bias, window)
    n = sizes["n"]
    lengths = lengths if lengths is not None else torch.full((sizes["batch"],), n)
    k_win, v_win = windows(k, window), windows(v, window)  # (b, h, n, 2w + 1, d)
    scores = (q[..., None, :] * k_win).sum(-1) / math.sqrt(sizes["d"])  # (b, h, n, 2w + 1)
    if bias is not None:
        scores = scores + bias[None, :, None, :]  # (b, h, n, 2w + 1)
    mask = band_mask(lengths, n, window)  # (b, 1, n, 2w + 1)
    weights = masked_softmax(scores, mask)  # (b, h, n, 2w + 1); padded queries get zeros
    return (weights[..., None] * v_win).sum(-2), weights  # (b, h, n, d), (b, h, n, 2w + 1)


def blocked_local_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, block: int | None = None
) -> torch.Tensor:
    """Local attention by blocks of queries: the same result as :func:`banded_attention`
    (without padding), computed with matrix products instead of a gathered window per query.

    Queries are cut into blocks of ``block`` positions (default ``max(2 * window, 16)``); the
    block starting at ``s`` scores the ``block + 2w`` keys ``s - w .. s + block + w - 1`` it can
    reach, with a band mask. That is ``n * (block + 2w)`` scores: linear in ``n`` for a fixed
    window, and the work is a few large ``matmul`` calls (Longformer's "sliding chunks").
    ``q, k, v`` (batch, heads, n, d) -> ``out`` (batch, heads, n, d).
    """
    window = expect_positive_int(window, "window", minimum=0)
    sizes = _check_qkv(q, k, v, None, None, window)
    block = max(2 * window, 16) if block is None else block
    expect_positive_int(block, "block")
    n, d = sizes["n"], sizes["d"]
    blocks = -(-n // block)  # ceil(n / block)
    extra = blocks * block - n  # queries padded to whole blocks
    span = block + 2 * window  # keys one block of queries can reach
    q_blocks = F.pad(q, (0, 0, 0, extra)).unflatten(-2, (blocks, block))  # (b, h, B, block, d)
    k_pad = F.pad(k, (0, 0, window, window + extra))  # (b, h, blocks*block + 2w, d)
    v_pad = F.pad(v, (0, 0, window, window + extra))
    k_blocks = k_pad.unfold(-2, span, block).transpose(-1, -2)  # (b, h, B, span, d)
    v_blocks = v_pad.unfold(-2, span, block).transpose(-1, -2)  # (b, h, B, span, d)
    scores = q_blocks @ k_blocks.transpose(-1, -2) / math.sqrt(d)  # (b, h, B, block, span)
    r = torch.arange(block)[:, None]  # (block, 1): query offset inside its block
    c = torch.arange(span)[None, :]  # (1, span): key offset inside the block's span
    key_pos = torch.arange(blocks)[:, None, None] * block + c - window  # (B, 1, span)
    mask = (c >= r) & (c <= r + 2 * window) & (key_pos >= 0) & (key_pos < n)  # (B, block, span)
    weights = masked_softmax(scores, mask)  # (b, h, B, block, span)
    out = weights @ v_blocks  # (b, h, B, block, d)
    return out.flatten(-3, -2)[..., :n, :]  # (b, h, n, d)


def offset_bias_matrix(bias: torch.Tensor, n: int) -> torch.Tensor:
    """Spread a per-offset bias (heads, 2w + 1) into (heads, n, n); 0 outside the window."""
    window = (bias.shape[-1] - 1) // 2
    offsets = torch.arange(n)[None, :] - torch.arange(n)[:, None]  # (n, n): j - i
    inside = offsets.abs() <= window  # (n, n)
    index = offsets.clamp(-window, window) + window  # (n, n) in [0, 2w]
    return bias[:, index] * inside  # (heads, n, n)


def dense_local_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    window: int | None,
    lengths: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same attention on the full ``n x n`` score matrix, masked to the window
    (``window=None``: global attention, every real key). O(n^2) scores.

    Returns ``out`` (batch, heads, n, d) and ``weights`` (batch, heads, n, n).
    """
    sizes = _check_qkv(q, k, v, lengths, bias, window if window is not None else 0)
    b, h, n, d = sizes["batch"], sizes["heads"], sizes["n"], sizes["d"]
    lengths = lengths if lengths is not None else torch.full((b,), n)
    scores = scaled_dot_score(q.reshape(b * h, n, d), k.reshape(b * h, n, d))  # (b*h, n, n)
    scores = scores.reshape(b, h, n, n)  # (b, h, n, n)
    if bias is not None:
        scores = scores + offset_bias_matrix(bias, n)[None]  # (b, h, n, n)
    mask = padding_mask(lengths, n)[:, None] & padding_mask(lengths, n)[:, :, :, None]
    if window is not None:  # mask: (b, 1, n, n)
        mask = mask & local_window_mask(n, expect_positive_int(window, "window", minimum=0))
    weights = masked_softmax(scores, mask)  # (b, h, n, n)
    return weights @ v, weights  # (b, h, n, d), (b, h, n, n)


def band_to_dense(weights: torch.Tensor) -> torch.Tensor:
    """Banded weights (..., n, 2w + 1) -> the same weights on the full (..., n, n) grid."""
    n, width = weights.shape[-2], weights.shape[-1]
    window = (width - 1) // 2
    padded = torch.zeros(*weights.shape[:-1], n + 2 * window)  # (..., n, n + 2w)
    rows = torch.arange(n)[:, None]  # (n, 1)
    cols = rows + torch.arange(width)[None, :]  # (n, 2w + 1) in padded coordinates
    padded[..., rows, cols] = weights
    return padded[..., window : window + n]  # (..., n, n)


@dataclass(frozen=True)
class LocalAttentionConfig:
    """A multi-head self-attention layer over a window of ``window`` tokens on each side."""

    d_model: int = 32
    heads: int = 4
    window: int = 4

    def __post_init__(self) -> None:
        if self.d_model % self.heads:
            raise ValueError(f"d_model: {self.d_model} is not divisible by heads={self.heads}")
        expect_positive_int(self.window, "window", minimum=0)


class LocalSelfAttention(nn.Module):
    """Multi-head self-attention restricted to a window, with a learned bias per offset.

    ``forward(x, lengths, mode)``: ``x`` (batch, n, d_model) -> (batch, n, d_model);
    ``mode`` is ``"banded"`` (default, O(n w)), ``"dense"`` (masked n x n, same result) or
    ``"global"`` (no window: every position attends to every real position).
    The last call's weights are kept in ``.weights``.
    """

    def __init__(self, config: LocalAttentionConfig) -> None:
        super().__init__()
        self.config = config
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)
        self.bias = nn.Parameter(torch.zeros(config.heads, 2 * config.window + 1))
        self.weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mode: str = "banded") -> torch.Tensor:
        sizes = expect_shape(x, "batch, n, d_model", name="x")
        expect_match(
            "x and d_model", {"x.d_model": sizes["d_model"], "config.d_model": self.config.d_model}
        )
        b, n, h = sizes["batch"], sizes["n"], self.config.heads
        q, k, v = self.qkv(x).reshape(b, n, 3, h, -1).permute(2, 0, 3, 1, 4)  # (b, h, n, d_h)
        if mode == "banded":
            out, self.weights = banded_attention(q, k, v, self.config.window, lengths, self.bias)
        elif mode in ("dense", "global"):
            window = self.config.window if mode == "dense" else None
            out, self.weights = dense_local_attention(
                q, k, v, window, lengths, self.bias if window is not None else None
            )
        else:
            raise ValueError(f"mode: expected 'banded', 'dense' or 'global', got {mode!r}")
        return self.out(out.transpose(1, 2).reshape(b, n, -1))  # (b, n, d_model)
