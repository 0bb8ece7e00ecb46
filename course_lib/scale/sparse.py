"""Sparse attention patterns: which (query, key) pairs are scored at all.

Masks are (n, n) bool, ``True`` = query i may attend to key j (lesson 01's convention):

- **sliding window** (Longformer's local part): ``|i - j| <= window``, ``n (2 window + 1)`` pairs;
- **window + global** (Longformer): a few global tokens attend to every token and every token
  attends to them, so any two tokens are two hops apart;
- **strided** (Sparse Transformer, Child et al. 2019): the previous ``stride`` tokens and every
  ``stride``-th token before that — with stride ~ sqrt(n), about ``2 n sqrt(n)`` pairs;
- **BigBird** (Zaheer et al. 2020): sliding window + global + a few random key blocks per query
  block.

Hardware computes attention in tiles, so a pattern saves time only where whole tiles are empty:
:func:`block_sparse_attention` skips every (block, block) tile of the mask with no pair in it.

:class:`SparseRecallModel` puts a pattern into a transformer for lesson 03's recall task, with
optional global tokens prepended to the sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.masks import local_window_mask
from course_lib.core.shapes import expect_positive_int, expect_shape, expect_tensor
from course_lib.core.transformer import TransformerBlock, TransformerConfig

PATTERNS = ("dense", "window", "window+global", "strided", "bigbird")


def global_mask(n: int, window: int, n_global: int) -> torch.Tensor:
    """Sliding window plus the first ``n_global`` tokens as global tokens -> (n, n) bool."""
    expect_positive_int(n_global, "n_global", minimum=0, maximum=n)
    mask = local_window_mask(n, window)  # (n, n)
    mask[:n_global, :] = True  # global tokens see everything
    mask[:, :n_global] = True  # and everything sees them
    return mask


def strided_mask(n: int, stride: int) -> torch.Tensor:
    """Sparse Transformer's strided pattern (causal): key ``j <= i`` with ``i - j < stride`` or
    ``(i - j) % stride == 0`` -> (n, n) bool."""
    expect_positive_int(n, "n")
    expect_positive_int(stride, "stride")
    i = torch.arange(n)[:, None]  # (n, 1)
    j = torch.arange(n)[None, :]  # (1, n)
    back = i - j  # (n, n) how far back key j is
    return (back >= 0) & ((back < stride) | (back % stride == 0))


def random_block_mask(n: int, block: int, n_random: int, seed: int = 0) -> torch.Tensor:
    """Each block of ``block`` queries attends to ``n_random`` key blocks drawn at random
    (BigBird's random part) -> (n, n) bool; ``n`` must be a multiple of ``block``."""
    n_blocks = _n_blocks(n, block)
    expect_positive_int(n_random, "n_random", minimum=0, maximum=n_blocks)
    g = torch.Generator().manual_seed(seed)
    layout = torch.zeros(n_blocks, n_blocks, dtype=torch.bool)  # (blocks, blocks)
    for row in range(n_blocks):
        layout[row, torch.randperm(n_blocks, generator=g)[:n_random]] = True
    return expand_layout(layout, block)


def bigbird_mask(
    n: int, block: int, window: int, n_global: int, n_random: int, seed: int = 0
) -> torch.Tensor:
    """BigBird: sliding window + ``n_global`` global tokens + ``n_random`` random key blocks
    per query block -> (n, n) bool."""
    return global_mask(n, window, n_global) | random_block_mask(n, block, n_random, seed)


def pattern_mask(
    pattern: str,
    n: int,
    window: int = 8,
    n_global: int = 1,
    stride: int | None = None,
    block: int = 16,
    n_random: int = 2,
    seed: int = 0,
) -> torch.Tensor:
    """The (n, n) mask of ``pattern`` in :data:`PATTERNS` (``stride`` defaults to sqrt(n))."""
    expect_positive_int(n, "n")
    if pattern == "dense":
        return torch.ones(n, n, dtype=torch.bool)
    if pattern == "window":
        return local_window_mask(n, window)
    if pattern == "window+global":
        return global_mask(n, window, n_global)
    if pattern == "strided":
        return strided_mask(n, stride or max(1, round(math.sqrt(n))))
    if pattern == "bigbird":
        return bigbird_mask(n, block, window, n_global, n_random, seed)
    raise ValueError(f"pattern: expected one of {PATTERNS}, got {pattern!r}")


def density(mask: torch.Tensor) -> float:
    """Fraction of the n x n pairs a mask scores."""
    expect_tensor(mask, "mask")
    return mask.float().mean().item()


def _n_blocks(n: int, block: int) -> int:
    expect_positive_int(n, "n")
    expect_positive_int(block, "block")
    if n % block:
        raise ValueError(f"block: must divide n = {n}, got {block}")
    return n // block


def tile_layout(mask: torch.Tensor, block: int) -> torch.Tensor:
    """(n, n) mask -> (n/block, n/block) bool: which (block, block) tiles hold any pair."""
    n = expect_shape(mask, "n, n", name="mask")["n"]
    b = _n_blocks(n, block)
    return mask.reshape(b, block, b, block).any(dim=3).any(dim=1)  # (blocks, blocks)


def expand_layout(layout: torch.Tensor, block: int) -> torch.Tensor:
    """(blocks, blocks) tile layout -> (n, n) mask with every pair of a chosen tile."""
    expect_shape(layout, "blocks, blocks", name="layout")
    return layout.repeat_interleave(block, 0).repeat_interleave(block, 1)  # (n, n)


def block_sparse_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, block: int = 32
) -> torch.Tensor:
    """Masked scaled dot-product attention that computes only the tiles of ``mask`` holding a
    pair: ``q``, ``k``, ``v`` (..., n, d), ``mask`` (n, n) bool -> (..., n, d). Every query
    needs at least one key. Rows of tiles with the same number of tiles are computed together;
    work ~ (tiles computed) * block^2."""
    n = expect_shape(mask, "n, n", name="mask")["n"]
    if q.shape[-2] != n or k.shape[-2] != n or v.shape[-2] != n:
        raise ValueError(f"q, k, v: expected {n} tokens (the mask's size), got {q.shape[-2]}")
    if not mask.any(-1).all():
        raise ValueError("mask: every query needs at least one key")
    b = _n_blocks(n, block)
    layout = tile_layout(mask, block)  # (b, b)
    counts = layout.sum(-1)  # (b,) tiles in each row of tiles
    lead = q.shape[:-2]
    qb = q.reshape(*lead, b, block, q.shape[-1])  # (..., b, block, d)
    kb = k.reshape(*lead, b, block, k.shape[-1])  # (..., b, block, d)
    vb = v.reshape(*lead, b, block, v.shape[-1])  # (..., b, block, d_v)
    tiles = mask.reshape(b, block, b, block).permute(0, 2, 1, 3)  # (b, b, block, block)
    out = torch.empty(*lead, b, block, v.shape[-1], dtype=q.dtype)  # (..., b, block, d_v)
    for width in counts.unique().tolist():  # rows with as many tiles together (a global row
        rows = (counts == width).nonzero().flatten()  # has many, a window row a few)
        cols = torch.sort(layout[rows].int(), dim=-1, descending=True, stable=True).indices
        cols = cols[:, :width]  # (r, width) the tile columns of each of these rows
        keys = kb[..., cols, :, :].flatten(-3, -2)  # (..., r, width*block, d)
        values = vb[..., cols, :, :].flatten(-3, -2)  # (..., r, width*block, d_v)
        allowed = tiles[rows[:, None], cols]  # (r, width, block, block)
        allowed = allowed.permute(0, 2, 1, 3).flatten(-2)  # (r, block, width*block)
        scores = qb[..., rows, :, :] @ keys.transpose(-2, -1) / math.sqrt(q.shape[-1])
        weights = torch.softmax(scores.masked_fill(~allowed, -math.inf), dim=-1)
        out[..., rows, :, :] = weights @ values  # (..., r, block, d_v)
    return out.reshape(*lead, n, v.shape[-1])  # (..., n, d_v)


@dataclass(frozen=True)
class SparseRecallConfig:
    """A small transformer for the recall task: ``vocab`` token ids, ``n_global`` global tokens
    prepended, attention limited to ``window`` neighbours on each side (``window=None``:
    dense)."""

    vocab: int
    n_classes: int
    window: int | None = 4
    n_global: int = 0
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2

    def __post_init__(self) -> None:
        expect_positive_int(self.vocab, "vocab")
        expect_positive_int(self.n_classes, "n_classes")
        if self.window is not None:
            expect_positive_int(self.window, "window", minimum=0)
        expect_positive_int(self.n_global, "n_global", minimum=0)
        expect_positive_int(self.n_layers, "n_layers")


class SparseRecallModel(nn.Module):
    """Token embeddings (global tokens get their own), ``n_layers`` transformer blocks whose
    self-attention is masked by the pattern, a classifier at every position."""

    def __init__(self, config: SparseRecallConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab + 1, c.d_model)  # id ``vocab``: a global token
        block = TransformerConfig(d_model=c.d_model, n_heads=c.n_heads, d_ff=2 * c.d_model)
        self.blocks = nn.ModuleList(TransformerBlock(block) for _ in range(c.n_layers))
        self.norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.n_classes)

    def mask(self, n: int) -> torch.Tensor:
        """The (g + n, g + n) attention mask over ``g`` global tokens and ``n`` tokens."""
        c, total = self.config, self.config.n_global + n
        if c.window is None:
            return torch.ones(total, total, dtype=torch.bool)
        return global_mask(total, c.window, c.n_global)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens`` (batch, n) -> logits (batch, n, n_classes)."""
        batch, n = expect_shape(tokens, "batch, n", name="tokens").values()
        g = self.config.n_global
        globals_ = torch.full((batch, g), self.config.vocab, dtype=tokens.dtype)  # (batch, g)
        x = self.embed(torch.cat([globals_, tokens], dim=1))  # (batch, g + n, d)
        mask = self.mask(n)  # (g + n, g + n)
        for block in self.blocks:
            x = block(x, self_mask=mask)  # (batch, g + n, d)
        return self.head(self.norm(x[:, g:]))  # (batch, n, n_classes)


def recall_loss(model: nn.Module, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the positions that have something to recall."""
    logits = model(tokens)  # (batch, n, classes)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
