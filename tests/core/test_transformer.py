"""Tests of course_lib.core.transformer: multi-head attention equals torch's, the pre-norm block."""

import pytest
import torch
from torch import nn

from course_lib.core.masks import causal_mask
from course_lib.core.transformer import MultiHeadAttention, TransformerBlock, TransformerConfig


def torch_copy(ours: MultiHeadAttention) -> nn.MultiheadAttention:
    """A ``torch.nn.MultiheadAttention`` holding the same weights as ``ours``."""
    d, heads = ours.config.d_model, ours.config.n_heads
    theirs = nn.MultiheadAttention(d, heads, batch_first=True)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(
            torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight])
        )
        theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)
    return theirs


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_multi_head_attention_equals_torch(heads):
    torch.manual_seed(heads)
    ours = MultiHeadAttention(TransformerConfig(d_model=16, n_heads=heads, d_ff=8))
    theirs = torch_copy(ours)
    q, kv = torch.randn(3, 5, 16), torch.randn(3, 7, 16)
    out, weights = ours(q, kv, kv)
    ref_out, ref_weights = theirs(q, kv, kv, average_attn_weights=False)
    assert out.shape == (3, 5, 16) and weights.shape == (3, heads, 5, 7)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(weights, ref_weights, atol=1e-6, rtol=1e-4)
    assert torch.equal(ours.last_weights, weights.detach())


def test_masks_follow_the_course_convention():
    torch.manual_seed(0)
    ours = MultiHeadAttention(TransformerConfig(d_model=8, n_heads=2, d_ff=8))
    theirs = torch_copy(ours)
    x = torch.randn(2, 6, 8)
    out, weights = ours(x, x, x, mask=causal_mask(6))  # True = may attend
    ref, _ = theirs(x, x, x, attn_mask=~causal_mask(6))  # torch: True = may NOT attend
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)
    assert weights.triu(1).abs().max() == 0


def test_block_shapes_positions_and_cross_attention():
    torch.manual_seed(1)
    config = TransformerConfig(d_model=16, n_heads=4, d_ff=32)
    encoder, decoder = TransformerBlock(config), TransformerBlock(config, cross=True)
    x, memory = torch.randn(2, 3, 16), torch.randn(2, 9, 16)
    assert encoder(x).shape == (2, 3, 16)
    out = decoder(x, memory, x_pos=torch.randn(1, 3, 16), memory_pos=torch.randn(1, 9, 16))
    assert out.shape == (2, 3, 16)
    assert decoder.cross_attn.last_weights.shape == (2, 4, 3, 9)
    # causal self-attention: changing a later token leaves earlier outputs alone
    y = x.clone()
    y[:, -1] += 1.0
    a, b = encoder(x, self_mask=causal_mask(3)), encoder(y, self_mask=causal_mask(3))
    torch.testing.assert_close(a[:, :-1], b[:, :-1])
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_block_and_config_errors_name_the_argument():
    with pytest.raises(ValueError, match="n_heads"):
        TransformerConfig(d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="dropout"):
        TransformerConfig(dropout=1.5)
    block = TransformerBlock(TransformerConfig(d_model=8, n_heads=2, d_ff=8), cross=True)
    with pytest.raises(ValueError, match="memory"):
        block(torch.randn(1, 2, 8))
    with pytest.raises(ValueError, match="memory"):
        TransformerBlock(TransformerConfig(d_model=8, n_heads=2, d_ff=8))(
            torch.randn(1, 2, 8), torch.randn(1, 2, 8)
        )
    with pytest.raises(ValueError, match="d_model|query"):
        block.self_attn(torch.randn(1, 2, 6), torch.randn(1, 2, 8), torch.randn(1, 2, 8))
