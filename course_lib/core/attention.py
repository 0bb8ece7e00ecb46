"""Attention scoring functions and the attention operation built on them.

Shapes: queries ``q`` (batch, queries, d_q), keys ``k`` (batch, keys, d_k),
values ``v`` (batch, keys, d_v); scores and weights (batch, queries, keys).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from course_lib.core.masks import masked_softmax
from course_lib.core.shapes import expect_match, expect_shape

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _query_key_sizes(q: torch.Tensor, k: torch.Tensor) -> tuple[dict, dict]:
    qs = expect_shape(q, "batch, queries, d", name="q")
    ks = expect_shape(k, "batch, keys, d", name="k")
    expect_match("q and k batch sizes", {"q.batch": qs["batch"], "k.batch": ks["batch"]})
    return qs, ks


def dot_score(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """score(q, k) = q . k  ->  (batch, queries, keys)."""
    qs, ks = _query_key_sizes(q, k)
    expect_match("q and k feature sizes (dot product)", {"q.d": qs["d"], "k.d": ks["d"]})
    return q @ k.transpose(-2, -1)  # (batch, queries, keys)


def scaled_dot_score(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """score(q, k) = q . k / sqrt(d)  ->  (batch, queries, keys)."""
    return dot_score(q, k) / math.sqrt(q.shape[-1])


def additive_score(
    q: torch.Tensor, k: torch.Tensor, W_q: torch.Tensor, W_k: torch.Tensor, w_v: torch.Tensor
) -> torch.Tensor:
    """Bahdanau scores ``w_v . tanh(q W_q + k W_k)`` for every query/key pair: q (batch,
    queries, d_q), k (batch, keys, d_k), W_q (d_q, h), W_k (d_k, h), w_v (h,) -> (batch,
    queries, keys)."""
    qs, ks = _query_key_sizes(q, k)
    hs = expect_shape(W_q, "d_q, h", name="W_q")
    expect_shape(W_k, "d_k, h", name="W_k")
    expect_shape(w_v, "h", name="w_v")
    expect_match("q feature size and W_q rows", {"q.d": qs["d"], "W_q.d_q": hs["d_q"]})
    expect_match("k feature size and W_k rows", {"k.d": ks["d"], "W_k.d_k": W_k.shape[0]})
    expect_match("hidden sizes", {"W_q.h": hs["h"], "W_k.h": W_k.shape[1], "w_v.h": w_v.shape[0]})
    hidden = (q @ W_q)[:, :, None, :] + (k @ W_k)[:, None, :, :]  # (batch, queries, keys, h)
    return torch.tanh(hidden) @ w_v  # (batch, queries, keys)


class AdditiveScore(nn.Module):
    """Bahdanau (additive) score: w_v . tanh(W_q q + W_k k)  ->  (batch, queries, keys), with
    the weights learned (``nn.Linear`` layers) and the arithmetic in :func:`additive_score`."""

    def __init__(self, d_q: int, d_k: int, d_hidden: int) -> None:
        super().__init__()
        self.W_q = nn.Linear(d_q, d_hidden, bias=False)
        self.W_k = nn.Linear(d_k, d_hidden, bias=False)
        self.w_v = nn.Linear(d_hidden, 1, bias=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        # checked here as well as in additive_score: inside mine.using("additive_score") the
        # learner's function, which need not check, does the arithmetic
        qs, ks = _query_key_sizes(q, k)
        expect_match("q feature size and W_q input", {"q.d": qs["d"], "d_q": self.W_q.in_features})
        expect_match("k feature size and W_k input", {"k.d": ks["d"], "d_k": self.W_k.in_features})
        # nn.Linear keeps (out, in) weights: transpose to the (in, out) of the formula
        return additive_score(q, k, self.W_q.weight.T, self.W_k.weight.T, self.w_v.weight[0])


class GeneralScore(nn.Module):
    """Luong "general" (bilinear) score: q^T W k  ->  (batch, queries, keys)."""

    def __init__(self, d_q: int, d_k: int) -> None:
        super().__init__()
        self.W = nn.Linear(d_k, d_q, bias=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        qs, ks = _query_key_sizes(q, k)
        expect_match("q feature size and W rows", {"q.d": qs["d"], "d_q": self.W.out_features})
        expect_match("k feature size and W columns", {"k.d": ks["d"], "d_k": self.W.in_features})
        return q @ self.W(k).transpose(-2, -1)  # (batch, queries, keys)


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    score: ScoreFn = scaled_dot_score,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft lookup: weights = softmax(score(q, k) / temperature), output = weights @ v.

    Returns ``(output, weights)``: (batch, queries, d_v) and (batch, queries, keys).
    ``mask`` is bool, broadcastable to (batch, queries, keys), ``True`` = may attend.
    """
    ks = expect_shape(k, "batch, keys, d", name="k")
    vs = expect_shape(v, "batch, keys, d_v", name="v")
    expect_match("k and v batch sizes", {"k.batch": ks["batch"], "v.batch": vs["batch"]})
    expect_match("k and v number of keys", {"k.keys": ks["keys"], "v.keys": vs["keys"]})
    if not temperature > 0:
        raise ValueError(f"temperature: expected > 0, got {temperature!r}")
    scores = score(q, k) / temperature  # (batch, queries, keys)
    weights = masked_softmax(scores, mask)  # (batch, queries, keys)
    return weights @ v, weights  # (batch, queries, d_v), (batch, queries, keys)
