"""Scoring functions and attention against torch references; errors on bad shapes."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.core.attention import (
    AdditiveScore,
    GeneralScore,
    attention,
    dot_score,
    scaled_dot_score,
)
from course_lib.core.masks import causal_mask, local_window_mask, padding_mask


@pytest.fixture
def qkv():
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(2, 3, 8, generator=g),
        torch.randn(2, 5, 8, generator=g),
        torch.randn(2, 5, 4, generator=g),
    )


def test_dot_and_scaled_dot_scores(qkv):
    q, k, _ = qkv
    expected = torch.einsum("bqd,bkd->bqk", q, k)
    torch.testing.assert_close(dot_score(q, k), expected)
    torch.testing.assert_close(scaled_dot_score(q, k), expected / math.sqrt(8))


@pytest.mark.parametrize("mask", [None, "causal", "padding", "window"])
def test_attention_equals_torch_sdpa(qkv, mask):
    q, k, v = qkv
    k, v = k[:, :3], v[:, :3]  # square, so a causal mask applies
    masks = {
        None: None,
        "causal": causal_mask(3),
        "window": local_window_mask(3, 1),
        "padding": padding_mask(torch.tensor([2, 3]), 3),
    }
    out, weights = attention(q, k, v, mask=masks[mask])
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=masks[mask])
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))


def test_temperature_sharpens_and_flattens(qkv):
    q, k, v = qkv
    cold = attention(q, k, v, temperature=0.1)[1]
    hot = attention(q, k, v, temperature=10.0)[1]
    assert cold.max(-1).values.mean() > hot.max(-1).values.mean()
    with pytest.raises(ValueError, match="temperature"):
        attention(q, k, v, temperature=0.0)


def test_additive_score_matches_its_formula():
    torch.manual_seed(0)
    score = AdditiveScore(d_q=3, d_k=5, d_hidden=7)
    q, k = torch.randn(2, 4, 3), torch.randn(2, 6, 5)
    with torch.no_grad():
        loop = torch.tensor(
            [
                [
                    [
                        float(score.w_v(torch.tanh(score.W_q(q[b, i]) + score.W_k(k[b, j]))))
                        for j in range(6)
                    ]
                    for i in range(4)
                ]
                for b in range(2)
            ]
        )
    torch.testing.assert_close(score(q, k), loop, atol=1e-5, rtol=1e-5)


def test_general_score_is_bilinear():
    torch.manual_seed(0)
    score = GeneralScore(d_q=3, d_k=5)
    q, k = torch.randn(2, 4, 3), torch.randn(2, 6, 5)
    W = score.W.weight  # (d_q, d_k)
    torch.testing.assert_close(score(q, k), torch.einsum("bqi,ij,bkj->bqk", q, W, k))


def test_errors_name_the_argument_and_dimension(qkv):
    q, k, v = qkv
    with pytest.raises(ValueError, match=r"q: expected 3 dims \(batch, queries, d\), got 2"):
        dot_score(q[0], k)
    with pytest.raises(ValueError, match=r"q.d=8, k.d=6"):
        dot_score(q, k[..., :6])
    with pytest.raises(ValueError, match=r"k.keys=5, v.keys=4"):
        attention(q, k, v[:, :4])
    with pytest.raises(ValueError, match=r"q.batch=2, k.batch=1"):
        dot_score(q, k[:1])
    with pytest.raises(TypeError, match="k: expected a torch.Tensor, got list"):
        dot_score(q, [[1.0]])
    with pytest.raises(ValueError, match=r"q.d=8, d_q=3"):
        AdditiveScore(3, 8, 4)(q, k)
    with pytest.raises(ValueError, match=r"k.d=8, d_k=2"):
        GeneralScore(8, 2)(q, k)
