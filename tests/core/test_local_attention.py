"""Banded local attention equals masked dense attention, at a fraction of the scores."""

import pytest
import torch

from course_lib.core.local_attention import (
    LocalAttentionConfig,
    LocalSelfAttention,
    band_to_dense,
    banded_attention,
    blocked_local_attention,
    dense_local_attention,
    offset_bias_matrix,
    windows,
)


def qkv(batch=3, heads=2, n=11, d=4, seed=0):
    torch.manual_seed(seed)
    return torch.randn(3, batch, heads, n, d).unbind(0)


@pytest.mark.parametrize("window", [0, 1, 3, 20])
def test_banded_equals_dense_with_padding_and_bias(window):
    q, k, v = qkv()
    lengths = torch.tensor([11, 6, 1])
    bias = torch.randn(2, 2 * window + 1)
    out_b, w_b = banded_attention(q, k, v, window, lengths, bias)
    out_d, w_d = dense_local_attention(q, k, v, window, lengths, bias)
    assert w_b.shape == (3, 2, 11, 2 * window + 1) and w_d.shape == (3, 2, 11, 11)
    assert torch.allclose(out_b, out_d, atol=1e-6)
    assert torch.allclose(band_to_dense(w_b), w_d, atol=1e-6)


def test_weights_stay_in_the_window_and_off_padding():
    q, k, v = qkv()
    lengths = torch.tensor([11, 6, 1])
    _, w = dense_local_attention(q, k, v, 2, lengths)
    i, j = torch.arange(11)[:, None], torch.arange(11)[None]
    assert (w[..., (i - j).abs() > 2] == 0).all()
    assert (w[1, :, :, 6:] == 0).all() and (w[1, :, 6:, :] == 0).all()
    assert torch.allclose(w[0].sum(-1), torch.ones(2, 11))
    _, w_global = dense_local_attention(q, k, v, None, lengths)
    assert (w_global[0] > 0).all()


def test_windows_and_offset_bias_layout():
    x = torch.arange(5.0)[:, None]  # (n=5, d=1)
    assert windows(x, 1)[..., 0].tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0]]
    bias = torch.tensor([[10.0, 20.0, 30.0]])  # offsets -1, 0, +1
    assert offset_bias_matrix(bias, 3)[0].tolist() == [[20, 30, 0], [10, 20, 30], [0, 10, 20]]


def test_layer_modes_agree_and_bad_input_is_named():
    torch.manual_seed(0)
    layer = LocalSelfAttention(LocalAttentionConfig(d_model=8, heads=2, window=2))
    x, lengths = torch.randn(2, 9, 8), torch.tensor([9, 5])
    assert torch.allclose(layer(x, lengths, "banded"), layer(x, lengths, "dense"), atol=1e-5)
    assert layer(x, lengths, "global").shape == (2, 9, 8)
    with pytest.raises(ValueError, match="mode: expected 'banded', 'dense' or 'global'"):
        layer(x, lengths, "sparse")
    with pytest.raises(ValueError, match="x and d_model must match"):
        layer(torch.randn(2, 9, 6), lengths)
    with pytest.raises(ValueError, match="d_model: 10 is not divisible by heads=4"):
        LocalAttentionConfig(d_model=10, heads=4)
    q, k, v = qkv()
    with pytest.raises(ValueError, match="window: expected an int >= 0"):
        banded_attention(q, k, v, -1)
    with pytest.raises(ValueError, match="q and k shapes must match"):
        banded_attention(q, k[:, :, :5], v, 1)


@pytest.mark.parametrize(
    "n, window, block", [(37, 3, None), (64, 16, None), (5, 4, 2), (100, 0, 7), (33, 2, 40)]
)
def test_blocked_local_attention_equals_banded(n, window, block):
    q, k, v = torch.randn(3, 2, 3, n, 8, generator=torch.Generator().manual_seed(n)).unbind(0)
    blocked = blocked_local_attention(q, k, v, window, block)  # (2, 3, n, 8)
    assert blocked.shape == (2, 3, n, 8)
    assert torch.allclose(blocked, banded_attention(q, k, v, window)[0], atol=1e-5)
    assert torch.allclose(blocked, dense_local_attention(q, k, v, window)[0], atol=1e-5)


def test_blocked_local_attention_rejects_bad_block():
    q = torch.randn(1, 1, 8, 4)
    with pytest.raises(ValueError, match="block"):
        blocked_local_attention(q, q, q, 2, block=0)
    with pytest.raises(ValueError, match="window"):
        blocked_local_attention(q, q, q, -1)
