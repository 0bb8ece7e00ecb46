"""Two options the course's multi-head attention does not have: rotary positions (RoPE) and
dropout on the attention weights.

:class:`ExtendedMultiHeadAttention` is :class:`~course_lib.core.transformer.MultiHeadAttention` with
the same parameters (so weights copy across) plus ``rotary`` (rotate each head's queries and
keys by their positions, :func:`course_lib.core.positional.rotate`) and ``attn_dropout`` (drop
attention weights while training, as in the original transformer). :func:`extend_attention`
swaps every multi-head attention inside a model (a :class:`~course_lib.core.transformer.
TransformerBlock`, say) for the extended one, keeping the weights.

Shapes: ``query`` (batch, T, d_model), ``key``/``value`` (batch, S, d_model), ``mask`` bool
broadcastable to (batch, T, S), ``True`` = may attend; weights (batch, heads, T, S).
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.core.attention import scaled_dot_score
from course_lib.core.masks import masked_softmax
from course_lib.core.positional import rotate
from course_lib.core.transformer import MultiHeadAttention, TransformerConfig


class ExtendedMultiHeadAttention(MultiHeadAttention):
    """Multi-head attention with optional RoPE (``rotary``) and ``attn_dropout``.

    It changes one step of its parent, ``_attend`` (attention on the split heads); with
    ``rotary=False`` and ``attn_dropout=0`` it computes exactly what its parent does.
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

    def _attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The parent's step with RoPE on ``q`` and ``k`` and dropout on the weights used for
        the output (the weights returned are those before dropout)."""
        if self.rotary:  # query i at position i, key j at position j
            q, k = rotate(q, base=self.rope_base), rotate(k, base=self.rope_base)
        weights = masked_softmax(scaled_dot_score(q, k), mask)  # (batch*heads, T, S)
        return self.attn_drop(weights) @ v, weights  # (batch*heads, T, d_head), (b*h, T, S)


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
