"""Linear attention equals its quadratic kernel formula; the causal parallel form equals the
recurrence, which never reads the future; a (d, d) state recalls about d pairs, softmax all."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.scale.linear_attention import (
    RECALL_METHODS,
    causal_linear_attention_recurrent,
    elu_feature_map,
    linear_attention,
    recall_accuracy,
    softmax_attention,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def qkv(*lead, n=12, n_k=None, d=6, d_v=5, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    n_k = n if n_k is None else n_k
    return (
        torch.randn(*lead, n, d, generator=g, dtype=dtype),
        torch.randn(*lead, n_k, d, generator=g, dtype=dtype),
        torch.randn(*lead, n_k, d_v, generator=g, dtype=dtype),
    )


def kernel_attention(q, k, v, causal=False):
    """The quadratic form, one query at a time: out_i = sum_j w_ij v_j / sum_j w_ij with
    w_ij = phi(q_i) . phi(k_j) (only j <= i if causal)."""
    fq, fk = F.elu(q) + 1, F.elu(k) + 1
    outs = []
    for i in range(q.shape[-2]):
        keys = slice(0, i + 1) if causal else slice(None)
        w = (fq[..., i : i + 1, :] * fk[..., keys, :]).sum(-1)  # (..., keys)
        outs.append((w[..., None] * v[..., keys, :]).sum(-2) / w.sum(-1, keepdim=True))
    return torch.stack(outs, dim=-2)


def test_feature_map_is_elu_plus_one_and_positive():
    x = torch.linspace(-20, 5, 101, dtype=torch.float64)  # float32 rounds phi(-20) to 0
    phi = elu_feature_map(x)
    assert (phi > 0).all()
    assert torch.allclose(phi[x > 0], x[x > 0] + 1)
    assert torch.allclose(phi[x <= 0], torch.exp(x[x <= 0]))


@pytest.mark.parametrize("lead", [(), (3,), (2, 4)])
def test_linear_attention_equals_the_quadratic_kernel_formula(lead):
    q, k, v = qkv(*lead, n=9, n_k=14, dtype=torch.float64)
    out = linear_attention(q, k, v)
    assert out.shape == (*lead, 9, 5)
    assert torch.allclose(out, kernel_attention(q, k, v), atol=1e-8)


@pytest.mark.parametrize("lead", [(), (2,), (2, 3)])
def test_causal_parallel_form_equals_the_recurrence_and_the_formula(lead):
    q, k, v = qkv(*lead, n=17)
    parallel = linear_attention(q, k, v, causal=True)
    recurrent = causal_linear_attention_recurrent(q, k, v)
    assert parallel.shape == recurrent.shape == (*lead, 17, 5)
    assert (parallel - recurrent).abs().max() <= 1e-5
    assert torch.allclose(parallel, kernel_attention(q, k, v, causal=True), atol=1e-5)
    assert not torch.allclose(parallel, linear_attention(q, k, v), atol=1e-3)  # causal matters
    assert torch.allclose(parallel[..., -1, :], linear_attention(q, k, v)[..., -1, :], atol=1e-5)


def test_the_recurrence_never_reads_future_tokens():
    q, k, v = qkv(2, n=10)
    out = causal_linear_attention_recurrent(q, k, v)
    t = 4
    q2, k2, v2 = (x.clone() for x in (q, k, v))
    for x in (q2, k2, v2):
        x[..., t + 1 :, :] = torch.randn_like(x[..., t + 1 :, :]) * 5
    changed = causal_linear_attention_recurrent(q2, k2, v2)
    assert torch.equal(changed[..., : t + 1, :], out[..., : t + 1, :])  # the past: bit for bit
    assert not torch.allclose(changed[..., t + 1 :, :], out[..., t + 1 :, :])
    assert torch.allclose(out[..., 0, :], v[..., 0, :], atol=1e-5)  # step 0 sees only token 0


def test_softmax_attention_is_scaled_dot_product_attention():
    q, k, v = qkv(2, 3, n=8, n_k=11)
    expected = F.scaled_dot_product_attention(q, k, v)
    assert torch.allclose(softmax_attention(q, k, v), expected, atol=1e-6)


def test_recall_of_each_method():
    assert recall_accuracy("softmax", 256) >= 0.99
    assert recall_accuracy("outer product", 32, d=64) >= 0.9  # few pairs: the state holds them
    assert recall_accuracy("outer product", 512, d=64) <= 0.5  # far more pairs than d: it cannot
    assert recall_accuracy("linear", 32) < recall_accuracy("softmax", 32)
    assert recall_accuracy("softmax", 64, trials=2, seed=3) == recall_accuracy(
        "softmax", 64, trials=2, seed=3
    )
    assert set(RECALL_METHODS) == {"softmax", "linear", "outer product"}


def test_errors_name_the_argument():
    q, k, v = qkv(n=6)
    with pytest.raises(ValueError, match="method: expected one of"):
        recall_accuracy("rnn", 8)
    with pytest.raises(ValueError, match="n_pairs: expected an int >= 2, got 1"):
        recall_accuracy("softmax", 1)
    with pytest.raises(ValueError, match="d: expected a positive int, got 0"):
        recall_accuracy("softmax", 8, d=0)
    with pytest.raises(ValueError, match="q and k feature sizes must match, got q.d=6, k.d=3"):
        linear_attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="k and v lengths must match, got k.n=6, v.n=4"):
        causal_linear_attention_recurrent(q, k, v[:4])
    with pytest.raises(ValueError, match="causal: q and k lengths must match"):
        linear_attention(q[:3], k, v, causal=True)
    with pytest.raises(ValueError, match="q and k lengths must match"):
        causal_linear_attention_recurrent(q[:3], k, v)
    with pytest.raises(ValueError, match=r"v: expected \(..., n, features\)"):
        linear_attention(q, k, torch.randn(6))
    with pytest.raises(TypeError, match="q: expected a torch.Tensor, got list"):
        linear_attention(q.tolist(), k, v)
