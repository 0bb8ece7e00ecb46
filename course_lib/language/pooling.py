"""Attention pooling for classification (lesson 02): which tokens does the classifier read?

A sequence of token states is pooled into one vector by a weighted average. With
**attention pooling** the weights come from a learned query scored against every state
(additive score, as in Yang et al.'s hierarchical attention networks); the **uniform**
baseline gives every real token the same weight (mean pooling). Either way the weights are a
distribution over tokens we can compare with the tokens that really decide the label.

Shapes: ``ids`` (batch, L), ``lengths`` (batch,), ``states`` (batch, L, hidden),
``weights`` (batch, L), ``logits`` (batch, classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.attention import AdditiveScore
from course_lib.core.masks import masked_softmax, padding_mask
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape
from course_lib.data.vocab import PAD_ID

POOLINGS = ("attention", "uniform")
KEYS = ("word", "context")


@dataclass(frozen=True)
class PoolingConfig:
    """A classifier: embedding -> local encoder -> pooling -> linear.

    The encoder is a causal convolution: the state of token i sees tokens
    ``i - window + 1 .. i`` only (with ``window = 2``: the word and the one before it). These
    states are the *values* that are averaged. The attention *keys* are the word embeddings
    alone (``keys="word"``: the score can only ask *which word* is here) or the contextual
    states themselves (``keys="context"``).
    """

    vocab: int
    classes: int = 2
    pooling: str = "attention"
    emb: int = 32
    hidden: int = 64
    window: int = 2
    attn_hidden: int = 32
    keys: str = "word"

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {POOLINGS}, got {self.pooling!r}")
        if self.keys not in KEYS:
            raise ValueError(f"keys: expected one of {KEYS}, got {self.keys!r}")
        for name in ("vocab", "classes", "emb", "hidden", "window", "attn_hidden"):
            expect_positive_int(getattr(self, name), name)


class AttentionPooling(nn.Module):
    """Weights = masked softmax of ``w_v . tanh(W_q u + W_k k_i)`` for a learned query ``u``;
    pooled = sum_i weights_i * v_i."""

    def __init__(self, d_key: int, attn_hidden: int) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(d_key) / d_key**0.5)  # u: (d_key,)
        self.score = AdditiveScore(d_key, d_key, attn_hidden)

    def forward(
        self, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``keys`` (batch, L, d_key), ``values`` (batch, L, d_v), ``mask`` (batch, 1, L) bool
        -> pooled (batch, d_v), weights (batch, L)."""
        ks = expect_shape(keys, "batch, L, d", name="keys")
        vs = expect_shape(values, "batch, L, d_v", name="values")
        expect_match("keys and values lengths", {"keys.L": ks["L"], "values.L": vs["L"]})
        expect_match("keys and mask lengths", {"keys.L": ks["L"], "mask.L": mask.shape[-1]})
        q = self.query.expand(ks["batch"], 1, -1)  # (batch, 1, d_key)
        weights = masked_softmax(self.score(q, keys), mask)  # (batch, 1, L)
        return (weights @ values)[:, 0], weights[:, 0]  # (batch, d_v), (batch, L)


def uniform_pooling(states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Mean over the real tokens: pooled (batch, hidden), weights (batch, L) = 1/length."""
    expect_shape(states, "batch, L, hidden", name="states")
    weights = mask[:, 0].float()  # (batch, L)
    weights = weights / weights.sum(-1, keepdim=True).clamp(min=1)  # (batch, L)
    return (weights[:, None] @ states)[:, 0], weights


class PooledClassifier(nn.Module):
    """Token ids -> logits, keeping the pooling weights of the last call in ``.weights``."""

    def __init__(self, config: PoolingConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab, config.emb, padding_idx=PAD_ID)
        self.conv = nn.Conv1d(config.emb, config.hidden, kernel_size=config.window)
        d_key = config.emb if config.keys == "word" else config.hidden
        self.pool = (
            AttentionPooling(d_key, config.attn_hidden) if config.pooling == "attention" else None
        )
        self.out = nn.Linear(config.hidden, config.classes)

    def encode(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids`` (batch, L) -> states (batch, L, hidden); state i sees tokens i-window+1..i."""
        expect_shape(ids, "batch, L", name="ids")
        x = self.embed(ids).transpose(1, 2)  # (batch, emb, L)
        x = F.pad(x, (self.config.window - 1, 0))  # (batch, emb, window - 1 + L): causal
        return torch.tanh(self.conv(x)).transpose(1, 2)  # (batch, L, hidden)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Returns logits (batch, classes) and pooling weights (batch, L)."""
        states = self.encode(ids)  # (batch, L, hidden)
        mask = padding_mask(lengths, ids.shape[1])  # (batch, 1, L)
        if self.pool is not None:
            keys = self.embed(ids) if self.config.keys == "word" else states  # (batch, L, d_key)
            pooled, weights = self.pool(keys, states, mask)
        else:
            pooled, weights = uniform_pooling(states, mask)
        return self.out(pooled), weights  # (batch, classes), (batch, L)


def rationale_mass(weights: torch.Tensor, rationale: torch.Tensor) -> torch.Tensor:
    """Attention mass on the deciding tokens, per example: ``weights`` (batch, L) float,
    ``rationale`` (batch, L) bool -> (batch,) = sum of the weights where ``rationale``."""
    expect_shape(weights, "batch, L", name="weights")
    expect_shape(rationale, "batch, L", name="rationale")
    if weights.shape != rationale.shape:
        raise ValueError(
            f"rationale: shape {tuple(rationale.shape)} must equal the weights' "
            f"shape {tuple(weights.shape)} (batch, L)"
        )
    if rationale.dtype != torch.bool:
        raise TypeError(f"rationale: expected dtype torch.bool, got {rationale.dtype}")
    return (weights * rationale).sum(-1)  # (batch,)
