"""Two options the course's multi-head attention does not have: rotary positions (RoPE) and
dropout on the attention weights.

:class:`ExtendedMultiHeadAttention` is :class:`~course_lib.transformer.MultiHeadAttention` with
the same parameters (so weights copy across) plus ``rotary`` (rotate each head's queries and
keys by their positions, :func:`course_lib.positional.rotate`) and ``attn_dropout`` (drop
attention weights while training, as in the original transformer). :func:`extend_attention`
swaps every multi-head attention inside a model (a :class:`~course_lib.transformer.
TransformerBlock`, say) for the extended one, keeping the weights.

Shapes: ``query`` (batch, T, d_model), ``key``/``value`` (batch, S, d_model), ``mask`` bool
broadcastable to (batch, T, S), ``True`` = may attend; weights (batch, heads, T, S).
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import scaled_dot_score
from .masks import masked_softmax
from .positional import rotate
from .shapes import expect_match, expect_shape
from .transformer import MultiHeadAttention, TransformerConfig


class ExtendedMultiHeadAttention(MultiHeadAttention):
    """Multi-head attention with optional RoPE (``rotary``) and ``attn_dropout``.

    With ``rotary=False`` and ``attn_dropout=0`` it computes exactly what its parent does.
    ``forward`` returns (batch, T, d_model) and the weights (batch, heads, T, S) before dropout.
    """

    def __init__(
        self,
        config: TransformerConfig | None = None,
        rotary: bool = False,
        attn_dropout: float = 0.0,
        rope_base: float = 10_000.0,
    ) -> None:
        config = config or TransformerConfig()
        super().__init__(config)
        if rotary and config.d_head % 2:
            raise ValueError(
                f"config: RoPE rotates feature pairs, so d_head must be even, "
                f"got d_model={config.d_model} / n_heads={config.n_heads}"
            )
        if not 0 <= attn_dropout < 1:
            raise ValueError(f"attn_dropout: expected a number in [0, 1), got {attn_dropout!r}")
        self.rotary, self.rope_base = bool(rotary), rope_base
        self.attn_drop = nn.Dropout(attn_dropout)

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
        expect_match(
            "query, key, value and d_model feature sizes",
            {
                "query.d": qs["d_model"],
                "key.d": ks["d_model"],
                "value.d": vs["d_model"],
                "d_model": self.config.d_model,
            },
        )
        expect_match("key and value lengths", {"key.S": ks["S"], "value.S": vs["S"]})
        batch, length, heads = qs["batch"], qs["T"], self.config.n_heads
        q = self._split(self.q_proj(query))  # (batch*heads, T, d_head)
        k = self._split(self.k_proj(key))  # (batch*heads, S, d_head)
        v = self._split(self.v_proj(value))  # (batch*heads, S, d_head)
        if self.rotary:  # query i at position i, key j at position j
            q, k = rotate(q, base=self.rope_base), rotate(k, base=self.rope_base)
        if mask is not None:
            mask = torch.broadcast_to(mask, (batch, length, ks["S"]))  # (batch, T, S)
            mask = mask.repeat_interleave(heads, dim=0)  # (batch*heads, T, S)
        weights = masked_softmax(scaled_dot_score(q, k), mask)  # (batch*heads, T, S)
        out = self.attn_drop(weights) @ v  # (batch*heads, T, d_head)
        out = out.reshape(batch, heads, length, -1).transpose(1, 2)  # (batch, T, heads, d_head)
        weights = weights.reshape(batch, heads, length, ks["S"])  # (batch, heads, T, S)
        self.last_weights = weights.detach()
        return self.out_proj(out.reshape(batch, length, -1)), weights  # (batch, T, d_model)


def extend_attention(
    model: nn.Module, rotary: bool = False, attn_dropout: float = 0.0
) -> nn.Module:
    """Replace every ``MultiHeadAttention`` in ``model`` (in place) by an
    :class:`ExtendedMultiHeadAttention` with the same weights and these options; returns
    ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    for name, child in list(model.named_children()):
        if isinstance(child, MultiHeadAttention):
            extended = ExtendedMultiHeadAttention(child.config, rotary, attn_dropout)
            extended.load_state_dict(child.state_dict())
            setattr(model, name, extended.train(child.training))
        else:
            extend_attention(child, rotary, attn_dropout)
    return model
