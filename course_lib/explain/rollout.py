"""Attention rollout (Abnar & Zuidema, 2020): how much each output token draws on each input
token through *all* layers, not just one.

A layer's attention ``A_l`` (T, T) says how each token mixes the tokens below it, but the
residual connection adds the token itself back, so the layer's real mixing is roughly
``0.5 A_l + 0.5 I`` (rows renormalised). Multiplying these matrices from the first layer up,
``R = A'_L ... A'_2 A'_1``, gives the rollout: row i is how token i of the last layer depends on
the input tokens. Heads are fused first (mean by default; ``max`` and ``min`` also exist).

Shapes: ``weights`` (layers, batch, heads, T, T) rows sum to 1; rollout (batch, T, T).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from course_lib.core.shapes import expect_shape
from course_lib.core.transformer import TransformerBlock

FUSIONS = ("mean", "max", "min")


def fuse_heads(weights: torch.Tensor, fusion: str = "mean") -> torch.Tensor:
    """(layers, batch, heads, T, T) -> (layers, batch, T, T) by the ``fusion`` over heads."""
    expect_shape(weights, "layers, batch, heads, T, T", name="weights")
    if fusion == "mean":
        return weights.mean(dim=2)
    if fusion == "max":
        return weights.amax(dim=2)
    if fusion == "min":
        return weights.amin(dim=2)
    raise ValueError(f"fusion: expected one of {FUSIONS}, got {fusion!r}")


def attention_rollout(
    weights: torch.Tensor, residual: bool = True, fusion: str = "mean"
) -> torch.Tensor:
    """Rollout of per-layer attention ``weights`` (layers, batch, heads, T, T) ->
    (batch, T, T), whose rows sum to 1. ``residual`` adds the identity for the skip
    connection (``0.5 A + 0.5 I``, rows renormalised) before multiplying layers."""
    sizes = expect_shape(weights, "layers, batch, heads, T, T", name="weights")
    if sizes["T"] != weights.shape[-2]:
        raise ValueError(f"weights: expected square (T, T) maps, got {tuple(weights.shape)}")
    mixing = fuse_heads(weights, fusion)  # (layers, batch, T, T)
    if residual:
        eye = torch.eye(sizes["T"], dtype=weights.dtype)  # (T, T)
        mixing = 0.5 * mixing + 0.5 * eye
        mixing = mixing / mixing.sum(dim=-1, keepdim=True)  # rows sum to 1 again
    rollout = mixing[0]  # (batch, T, T)
    for layer in mixing[1:]:
        rollout = layer @ rollout  # (batch, T, T): one more layer on top
    return rollout


def self_attention_weights(blocks: Iterable[nn.Module]) -> torch.Tensor:
    """The self-attention weights each :class:`~course_lib.core.transformer.TransformerBlock` kept
    from its last forward pass, stacked: (layers, batch, heads, T, T)."""
    blocks = list(blocks)
    if not blocks or not all(isinstance(b, TransformerBlock) for b in blocks):
        raise TypeError("blocks: expected a non-empty sequence of TransformerBlock")
    weights = [b.self_attn.last_weights for b in blocks]
    if any(w is None for w in weights):
        raise RuntimeError("blocks: run the model on a batch first (no weights kept yet)")
    return torch.stack(weights)  # (layers, batch, heads, T, T)
