"""Exact attention in linear memory: the online softmax and a tiled attention forward.

The softmax of a row needs its maximum (for stability) and its normaliser, which depend on the
whole row. The **online softmax** (Milakov & Gimelshein, 2018) reads the row a block at a time
and keeps a running maximum ``m`` and a running normaliser ``norm``; when a new block raises the
maximum, the old normaliser is rescaled by ``exp(m_old - m_new)``. The same rescaling works on
a running weighted sum of values, which gives **tiled attention** in the manner of
FlashAttention (Dao et al., 2022): queries and keys/values in blocks, one (block_q, block_k)
tile of scores alive at a time, never the (n, n) matrix. The result is exact — the same
numbers as ``F.scaled_dot_product_attention`` up to float round-off.

Shapes: ``q`` (..., n_q, d), ``k`` (..., n_k, d), ``v`` (..., n_k, d_v) -> (..., n_q, d_v);
any leading dims (batch, heads) are carried along.
"""

from __future__ import annotations

import math

import torch

from course_lib.core.shapes import expect_match, expect_positive_int, expect_tensor


def online_softmax(x: torch.Tensor, block: int = 128) -> torch.Tensor:
    """Softmax over the last dim of ``x`` (..., n), reading ``block`` columns at a time.

    Pass 1 keeps the running max ``m`` and normaliser ``norm = sum exp(x - m)``; pass 2 writes
    ``exp(x - m) / norm``. Equal to ``torch.softmax(x, -1)``; rows that are all ``-inf`` give NaN,
    as torch's softmax does."""
    x = expect_tensor(x, "x")
    if x.dim() < 1 or x.shape[-1] == 0:
        raise ValueError(f"x: expected at least one column in the last dim, got {tuple(x.shape)}")
    expect_positive_int(block, "block")
    m = torch.full(x.shape[:-1], -math.inf, dtype=x.dtype)  # (...,) running max
    norm = torch.zeros(x.shape[:-1], dtype=x.dtype)  # (...,) running normaliser
    for start in range(0, x.shape[-1], block):
        chunk = x[..., start : start + block]  # (..., block)
        m_new = torch.maximum(m, chunk.amax(-1))  # (...,)
        shift = torch.where(torch.isinf(m_new), 0.0, m_new)  # (...,) no -inf - -inf = NaN
        norm = norm * torch.exp(m - shift) + torch.exp(chunk - shift[..., None]).sum(-1)
        m = m_new
    return torch.exp(x - m[..., None]) / norm[..., None]  # (..., n)


def _check_qkv(q: object, k: object, v: object) -> None:
    for name, t in (("q", q), ("k", k), ("v", v)):
        t = expect_tensor(t, name)
        if t.dim() < 2:
            raise ValueError(f"{name}: expected (..., n, features), got shape {tuple(t.shape)}")
    expect_match("q and k feature sizes", {"q.d": q.shape[-1], "k.d": k.shape[-1]})
    expect_match("k and v lengths", {"k.n": k.shape[-2], "v.n": v.shape[-2]})
    expect_match("q, k, v leading dims", {"q": q.dim(), "k": k.dim(), "v": v.dim()})
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ValueError(
            f"q, k, v: leading dims (batch, heads) must match, got {tuple(q.shape[:-2])}, "
            f"{tuple(k.shape[:-2])}, {tuple(v.shape[:-2])}"
        )


def tiled_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    block_q: int = 128,
    block_k: int = 128,
) -> torch.Tensor:
    """Exact scaled dot-product attention, one (block_q, block_k) tile of scores at a time.

    ``causal=True`` lets query ``i`` see keys ``j <= i`` (needs ``n_q == n_k``, like
    ``F.scaled_dot_product_attention(..., is_causal=True)``); tiles entirely above the
    diagonal are skipped, so causal attention does about half the work.
    Returns (..., n_q, d_v); peak extra memory ~ n_q * d_v + block_q * block_k."""
    _check_qkv(q, k, v)
    expect_positive_int(block_q, "block_q")
    expect_positive_int(block_k, "block_k")
    n_q, n_k = q.shape[-2], k.shape[-2]
    if causal and n_q != n_k:
        raise ValueError(f"causal: needs as many queries as keys, got n_q={n_q}, n_k={n_k}")
    scale = 1.0 / math.sqrt(q.shape[-1])
    out = torch.empty(*q.shape[:-1], v.shape[-1], dtype=q.dtype)  # (..., n_q, d_v)
    for i in range(0, n_q, block_q):
        qi = q[..., i : i + block_q, :] * scale  # (..., bq, d)
        rows = qi.shape[-2]
        m = torch.full((*qi.shape[:-1], 1), -math.inf, dtype=q.dtype)  # (..., bq, 1)
        norm = torch.zeros_like(m)  # (..., bq, 1) running normaliser
        acc = torch.zeros(*qi.shape[:-1], v.shape[-1], dtype=q.dtype)  # (..., bq, d_v)
        last_key = i + rows if causal else n_k  # causal: no key after the block's last query
        for j in range(0, last_key, block_k):
            s = qi @ k[..., j : j + block_k, :].transpose(-2, -1)  # (..., bq, bk) one tile
            if causal and j + s.shape[-1] > i:  # the tile crosses the diagonal
                query_pos = torch.arange(i, i + rows)[:, None]  # (bq, 1)
                key_pos = torch.arange(j, j + s.shape[-1])[None, :]  # (1, bk)
                s = s.masked_fill(key_pos > query_pos, -math.inf)  # (..., bq, bk)
            m_new = torch.maximum(m, s.amax(-1, keepdim=True))  # (..., bq, 1)
            p = torch.exp(s - m_new)  # (..., bq, bk) unnormalised weights of this tile
            rescale = torch.exp(m - m_new)  # (..., bq, 1) old sums were relative to old max
            norm = norm * rescale + p.sum(-1, keepdim=True)  # (..., bq, 1)
            acc = acc * rescale + p @ v[..., j : j + block_k, :]  # (..., bq, d_v)
            m = m_new
        out[..., i : i + rows, :] = acc / norm  # (..., bq, d_v)
    return out
