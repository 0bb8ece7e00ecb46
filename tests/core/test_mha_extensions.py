"""ExtendedMultiHeadAttention: RoPE and attention dropout on the course's multi-head attention."""

import pytest
import torch

from course_lib.core.masks import causal_mask
from course_lib.core.mha_extensions import ExtendedMultiHeadAttention, extend_attention
from course_lib.core.positional import rotate
from course_lib.core.transformer import MultiHeadAttention, TransformerBlock, TransformerConfig

CONFIG = TransformerConfig(d_model=16, n_heads=2, d_ff=32)


def test_without_options_it_equals_the_parent():
    torch.manual_seed(0)
    parent = MultiHeadAttention(CONFIG)
    child = ExtendedMultiHeadAttention(CONFIG)
    child.load_state_dict(parent.state_dict())
    x, m = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    for args in ((x, x, x, causal_mask(5)), (x, m, m, None)):
        out_p, w_p = parent(*args)
        out_c, w_c = child(*args)
        assert torch.allclose(out_p, out_c, atol=1e-6) and torch.allclose(w_p, w_c, atol=1e-6)


def test_rotary_scores_are_rotated_queries_and_keys():
    torch.manual_seed(1)
    mha = ExtendedMultiHeadAttention(CONFIG, rotary=True).eval()
    x = torch.randn(1, 6, 16)
    _, weights = mha(x, x, x)
    q = mha._split(mha.q_proj(x))  # (heads, 6, 8)
    k = mha._split(mha.k_proj(x))
    expected = torch.softmax(rotate(q) @ rotate(k).transpose(1, 2) / 8**0.5, dim=-1)
    assert torch.allclose(weights[0], expected, atol=1e-6)
    # RoPE scores depend on offsets only: the same tokens 3 positions later (behind 3 tokens
    # that no query may see) get the same weights
    longer = torch.cat([torch.randn(1, 3, 16), x], dim=1)  # (1, 9, 16)
    hide = torch.arange(9)[None, :] >= 3  # (1, 9) keys 0..2 masked
    _, shifted = mha(longer, longer, longer, hide)
    assert torch.allclose(shifted[0, :, 3:, 3:], weights[0], atol=1e-5)
    plain = ExtendedMultiHeadAttention(CONFIG).eval()
    plain.load_state_dict(mha.state_dict())
    assert not torch.allclose(plain(x, x, x)[1], weights, atol=1e-3)


def test_attention_dropout_only_in_training():
    torch.manual_seed(2)
    mha = ExtendedMultiHeadAttention(CONFIG, attn_dropout=0.5)
    x = torch.randn(2, 5, 16)
    mha.train()
    a, b = mha(x, x, x)[0], mha(x, x, x)[0]
    assert not torch.allclose(a, b)
    mha.eval()
    assert torch.allclose(mha(x, x, x)[0], mha(x, x, x)[0])
    with pytest.raises(ValueError, match="attn_dropout"):
        ExtendedMultiHeadAttention(CONFIG, attn_dropout=1.0)
    with pytest.raises(ValueError, match="d_head must be even"):
        ExtendedMultiHeadAttention(TransformerConfig(d_model=6, n_heads=2), rotary=True)


def test_extend_attention_swaps_every_module_and_keeps_weights():
    torch.manual_seed(3)
    block = TransformerBlock(CONFIG, cross=True).eval()
    x, m = torch.randn(2, 4, 16), torch.randn(2, 3, 16)
    before = block(x, m)
    extend_attention(block)
    assert isinstance(block.self_attn, ExtendedMultiHeadAttention)
    assert isinstance(block.cross_attn, ExtendedMultiHeadAttention)
    assert torch.allclose(block(x, m), before, atol=1e-6)
    with pytest.raises(TypeError, match="model"):
        extend_attention("block")
