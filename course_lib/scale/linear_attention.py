"""Linear attention (Katharopoulos et al., 2020): attention as a kernel, computed right to left.

Softmax attention weighs value ``j`` for query ``i`` by ``exp(q_i . k_j)``. Replace that by a
product of feature maps, ``phi(q_i) . phi(k_j)`` with ``phi(x) = elu(x) + 1 > 0``, and the
output

    out_i = sum_j (phi(q_i) . phi(k_j)) v_j / sum_j phi(q_i) . phi(k_j)
          = phi(q_i) S / phi(q_i) . z,     S = sum_j phi(k_j) v_j^T  (d, d_v),  z = sum_j phi(k_j)

needs ``S`` and ``z`` once for all queries: time and memory ~ n instead of n^2. Causal: query
``i`` may only use keys ``j <= i``, so ``S`` and ``z`` become running sums — a **recurrence**,
an RNN whose state is the (d, d_v) matrix ``S_i = S_{i-1} + phi(k_i) v_i^T``. The price: the
whole past is squeezed into that fixed-size state, so it cannot hold more than about ``d``
independent key/value pairs (:func:`recall_accuracy` measures it).

Shapes: ``q``, ``k`` (..., n, d); ``v`` (..., n, d_v) -> (..., n, d_v).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_lib.core.shapes import expect_match, expect_positive_int, expect_tensor


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """phi(x) = elu(x) + 1 > 0, so every weight and the normaliser are positive (in float32 it
    underflows to 0 below x ~ -17; the normaliser's ``eps`` keeps the output finite)."""
    return F.elu(x) + 1


def _check(q: object, k: object, v: object) -> None:
    for name, t in (("q", q), ("k", k), ("v", v)):
        if expect_tensor(t, name).dim() < 2:
            raise ValueError(f"{name}: expected (..., n, features), got shape {tuple(t.shape)}")
    expect_match("q and k feature sizes", {"q.d": q.shape[-1], "k.d": k.shape[-1]})
    expect_match("k and v lengths", {"k.n": k.shape[-2], "v.n": v.shape[-2]})


def linear_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False, eps: float = 1e-6
) -> torch.Tensor:
    """Linear attention with ``phi = elu + 1``. Non-causal: ``S = phi(K)^T V`` once, time ~ n.
    Causal: the parallel (training) form — the (n, n) matrix ``phi(Q) phi(K)^T`` masked to
    ``j <= i`` — equal to :func:`causal_linear_attention_recurrent`."""
    _check(q, k, v)
    fq, fk = elu_feature_map(q), elu_feature_map(k)  # (..., n_q, d), (..., n, d)
    if causal:
        expect_match("causal: q and k lengths", {"q.n": q.shape[-2], "k.n": k.shape[-2]})
        a = (fq @ fk.transpose(-2, -1)).tril()  # (..., n, n) kernel weights of keys j <= i
        return (a @ v) / (a.sum(-1, keepdim=True) + eps)  # (..., n, d_v)
    state = fk.transpose(-2, -1) @ v  # (..., d, d_v)  S = sum_j phi(k_j) v_j^T
    z = fk.sum(-2)  # (..., d)  sum_j phi(k_j)
    return (fq @ state) / ((fq @ z[..., None]) + eps)  # (..., n_q, d_v)


def causal_linear_attention_recurrent(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Causal linear attention one step at a time: the state ``S`` (d, d_v) and normaliser
    ``z`` (d,) gain ``phi(k_t) v_t^T`` and ``phi(k_t)``; the output reads them with
    ``phi(q_t)``. Memory per step ~ d * d_v, whatever the length."""
    _check(q, k, v)
    expect_match("q and k lengths", {"q.n": q.shape[-2], "k.n": k.shape[-2]})
    fq, fk = elu_feature_map(q), elu_feature_map(k)  # (..., n, d)
    state = torch.zeros(*q.shape[:-2], q.shape[-1], v.shape[-1], dtype=q.dtype)  # (..., d, d_v)
    z = torch.zeros(*q.shape[:-2], q.shape[-1], dtype=q.dtype)  # (..., d)
    outs = []
    for t in range(q.shape[-2]):
        state = state + fk[..., t, :, None] * v[..., t, None, :]  # (..., d, d_v) += outer
        z = z + fk[..., t, :]  # (..., d)
        num = (fq[..., t, :, None] * state).sum(-2)  # (..., d_v)  phi(q_t) S_t
        den = (fq[..., t, :] * z).sum(-1, keepdim=True)  # (..., 1)  phi(q_t) . z_t
        outs.append(num / (den + eps))
    return torch.stack(outs, dim=-2)  # (..., n, d_v)


def softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Plain scaled dot-product attention (non-causal), the comparison for the recall task."""
    _check(q, k, v)
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -1) @ v


RECALL_METHODS = ("softmax", "linear", "outer product")


def recall_accuracy(
    method: str, n_pairs: int, d: int = 64, trials: int = 4, seed: int = 0
) -> float:
    """Store ``n_pairs`` random key/value pairs (keys and values ~ N(0, I_d)) as the context,
    query with every stored key, and return the fraction of queries whose output is closer
    (cosine) to the right value than to any other stored value. ``method``: ``"softmax"``,
    ``"linear"`` (phi = elu + 1) or ``"outer product"`` (phi = identity, no normaliser: the
    plain (d, d) associative memory ``S = sum_j k_j v_j^T``). No training: it measures what
    each form of attention *can* retrieve when the values live in ``d`` dimensions (as in a
    model)."""
    if method not in RECALL_METHODS:
        raise ValueError(f"method: expected one of {RECALL_METHODS}, got {method!r}")
    expect_positive_int(n_pairs, "n_pairs", minimum=2)
    expect_positive_int(d, "d")
    expect_positive_int(trials, "trials")
    g = torch.Generator().manual_seed(seed)
    keys = torch.randn(trials, n_pairs, d, generator=g)  # (trials, n, d)
    values = torch.randn(trials, n_pairs, d, generator=g)  # (trials, n, d)
    if method == "softmax":
        out = softmax_attention(keys, keys, values)  # (trials, n, d) one read-out per key
    elif method == "linear":
        out = linear_attention(keys, keys, values)  # (trials, n, d)
    else:  # the best case of a (d, d) state: S = sum_j k_j v_j^T read with the raw query
        out = keys @ (keys.transpose(-2, -1) @ values)  # (trials, n, d)
    similarity = F.normalize(out, dim=-1) @ F.normalize(values, dim=-1).transpose(-2, -1)
    right = similarity.argmax(-1) == torch.arange(n_pairs)  # (trials, n) nearest is its own
    return right.float().mean().item()
