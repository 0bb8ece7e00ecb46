"""Masks and masked softmax against torch's references."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.core.masks import causal_mask, local_window_mask, masked_softmax, padding_mask


@pytest.mark.parametrize("n", [1, 2, 7])
def test_causal_mask_equals_torch(n):
    torch_mask = torch.nn.Transformer.generate_square_subsequent_mask(n)  # 0 / -inf floats
    assert torch.equal(causal_mask(n), torch_mask == 0)


def test_padding_mask_and_key_padding_of_multihead_attention():
    mask = padding_mask(torch.tensor([1, 3, 4]), 4)
    assert mask.shape == (3, 1, 4) and mask.dtype == torch.bool
    assert mask[:, 0].sum(-1).tolist() == [1, 3, 4]
    # nn.MultiheadAttention's key_padding_mask uses the opposite convention (True = ignore).
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(6, 1, batch_first=True)
    x = torch.randn(3, 4, 6)
    _, w_torch = mha(x, x, x, key_padding_mask=~mask[:, 0])
    assert torch.all(w_torch.masked_select(~mask.expand(3, 4, 4)) == 0)


def test_local_window_mask():
    mask = local_window_mask(5, 1)
    assert mask.sum().item() == 5 + 2 * 4  # diagonal plus one neighbour each side
    assert torch.equal(local_window_mask(5, 1, causal=True), mask & causal_mask(5))
    assert torch.equal(local_window_mask(4, 10), torch.ones(4, 4, dtype=torch.bool))


def test_masked_softmax_equals_sdpa_weights():
    # With q = 0, SDPA computes softmax(attn_mask) @ v: a float attn_mask carrying the scores
    # (-inf where masked) makes torch's fused kernel the reference for masked_softmax.
    torch.manual_seed(0)
    scores, v = torch.randn(2, 5, 5), torch.randn(2, 5, 3)
    mask = local_window_mask(5, 2, causal=True)
    zeros = torch.zeros(2, 5, 4)
    ref = F.scaled_dot_product_attention(
        zeros, zeros, v, attn_mask=scores.masked_fill(~mask, float("-inf"))
    )
    torch.testing.assert_close(masked_softmax(scores, mask) @ v, ref, atol=1e-6, rtol=1e-5)


def test_fully_masked_rows_are_zero_and_gradients_finite():
    scores = torch.randn(2, 3, 4, requires_grad=True)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0, 1] = False
    weights = masked_softmax(scores, mask)
    assert torch.equal(weights[0, 1], torch.zeros(4))
    torch.testing.assert_close(weights[1].sum(-1), torch.ones(3))
    weights.sum().backward()
    assert torch.isfinite(scores.grad).all()


def test_mask_errors_are_clear():
    scores = torch.randn(2, 3, 4)
    with pytest.raises(TypeError, match="mask: expected dtype torch.bool"):
        masked_softmax(scores, torch.ones(3, 4))
    with pytest.raises(ValueError, match=r"mask: shape \(3, 5\) does not broadcast .* \(2, 3, 4\)"):
        masked_softmax(scores, torch.ones(3, 5, dtype=torch.bool))
    with pytest.raises(TypeError, match="scores: expected a floating tensor"):
        masked_softmax(torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"lengths: every length must be in \[0, max_len=3\]"):
        padding_mask(torch.tensor([1, 4]), 3)
    with pytest.raises(TypeError, match="lengths: expected an integer tensor"):
        padding_mask(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="n: expected a positive int"):
        causal_mask(0)
    with pytest.raises(ValueError, match="window: expected an int >= 0"):
        local_window_mask(4, -1)
