"""Pointer (copy) attention for long inputs (lesson 02): the output *is* the attention.

A decoder with a fixed output vocabulary can only write words it was trained to write. A
pointer network (Vinyals et al., 2015) instead attends over the input positions and uses the
attention weights themselves as the output distribution: it answers "which input token?",
so it can copy names it has never seen. When a word occurs several times, its probability is
the attention summed over its occurrences (the copy distribution of See et al., 2017).

:class:`SlotPointer` fills a fixed summary of ``slots`` words (here host, guest, city): an
encoder of local-window self-attention layers (:mod:`course_lib.core.local_attention`), then one
learned query per slot that points into the document with a ``general`` score.

Shapes: ``ids`` (batch, n), ``lengths`` (batch,), ``states`` (batch, n, d_model),
pointer ``weights`` (batch, slots, n), ``copy_ids`` (batch, n), copy distribution
(batch, slots, n_words).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.core.attention import GeneralScore
from course_lib.core.local_attention import LocalAttentionConfig, LocalSelfAttention
from course_lib.core.masks import masked_softmax, padding_mask
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape
from course_lib.data.vocab import PAD_ID


@dataclass(frozen=True)
class PointerConfig:
    """Sizes of a :class:`SlotPointer`."""

    vocab: int
    slots: int = 3
    d_model: int = 32
    heads: int = 4
    window: int = 4
    layers: int = 1
    ff: int = 64

    def __post_init__(self) -> None:
        for name in ("vocab", "slots", "d_model", "heads", "layers", "ff"):
            expect_positive_int(getattr(self, name), name)
        LocalAttentionConfig(self.d_model, self.heads, self.window)  # validates those


class EncoderLayer(nn.Module):
    """Local self-attention and a feed-forward block, each with a residual and LayerNorm."""

    def __init__(self, config: PointerConfig) -> None:
        super().__init__()
        self.attn = LocalSelfAttention(
            LocalAttentionConfig(config.d_model, config.heads, config.window)
        )
        self.norm1 = nn.LayerNorm(config.d_model)
        self.ff = nn.Sequential(
            nn.Linear(config.d_model, config.ff), nn.ReLU(), nn.Linear(config.ff, config.d_model)
        )
        self.norm2 = nn.LayerNorm(config.d_model)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mode: str = "banded"):
        x = self.norm1(x + self.attn(x, lengths, mode))  # (batch, n, d_model)
        return self.norm2(x + self.ff(x))  # (batch, n, d_model)


class SlotPointer(nn.Module):
    """Encode a document with local attention, then point once per slot."""

    def __init__(self, config: PointerConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab, config.d_model, padding_idx=PAD_ID)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.layers))
        self.queries = nn.Parameter(torch.randn(config.slots, config.d_model) * 0.1)
        self.score = GeneralScore(config.d_model, config.d_model)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor, mode: str = "banded"):
        """``ids`` (batch, n) -> states (batch, n, d_model)."""
        sizes = expect_shape(ids, "batch, n", name="ids")
        expect_match(
            "ids and lengths batch sizes",
            {"ids.batch": sizes["batch"], "lengths.batch": len(lengths)},
        )
        x = self.embed(ids)  # (batch, n, d_model)
        for layer in self.layers:
            x = layer(x, lengths, mode)
        return x

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, mode: str = "banded"):
        """Pointer weights over the positions of each document: (batch, slots, n)."""
        states = self.encode(ids, lengths, mode)  # (batch, n, d_model)
        q = self.queries.expand(ids.shape[0], -1, -1)  # (batch, slots, d_model)
        scores = self.score(q, states)  # (batch, slots, n)
        return masked_softmax(scores, padding_mask(lengths, ids.shape[1]))  # (batch, slots, n)


def copy_distribution(weights: torch.Tensor, copy_ids: torch.Tensor, n_words: int) -> torch.Tensor:
    """Sum the pointer weights of each word's occurrences.

    ``weights`` (batch, slots, n), ``copy_ids`` (batch, n) long in [0, n_words) ->
    (batch, slots, n_words): probability of copying each distinct word.
    """
    ws = expect_shape(weights, "batch, slots, n", name="weights")
    cs = expect_shape(copy_ids, "batch, n", name="copy_ids")
    expect_match("weights and copy_ids positions", {"weights.n": ws["n"], "copy_ids.n": cs["n"]})
    expect_match(
        "weights and copy_ids batch sizes",
        {"weights.batch": ws["batch"], "copy_ids.batch": cs["batch"]},
    )
    if copy_ids.dtype != torch.long:
        raise TypeError(f"copy_ids: expected dtype torch.long, got {copy_ids.dtype}")
    index = copy_ids[:, None, :].expand(-1, ws["slots"], -1)  # (batch, slots, n)
    out = weights.new_zeros(ws["batch"], ws["slots"], n_words)  # (batch, slots, n_words)
    return out.scatter_add(-1, index, weights)  # (batch, slots, n_words)


def pointer_loss(
    weights: torch.Tensor, copy_ids: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Mean negative log-probability of the target words: ``targets`` (batch, slots)."""
    probs = copy_distribution(weights, copy_ids, int(copy_ids.max()) + 1)  # (b, slots, words)
    picked = probs.gather(-1, targets[..., None])[..., 0]  # (batch, slots)
    return -(picked.clamp(min=1e-9).log()).mean()


def predict_words(weights: torch.Tensor, copy_ids: torch.Tensor) -> torch.Tensor:
    """The copy id of the most probable word per slot: (batch, slots) long."""
    return copy_distribution(weights, copy_ids, int(copy_ids.max()) + 1).argmax(-1)
