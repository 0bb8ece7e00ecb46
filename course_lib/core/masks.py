"""Attention masks and the masked softmax.

Convention (same as ``F.scaled_dot_product_attention`` with a boolean ``attn_mask``):
a mask is a ``bool`` tensor broadcastable to the scores ``(..., queries, keys)`` and
``True`` means *this query may attend to this key*.
"""

from __future__ import annotations

import torch

from course_lib.core.shapes import expect_positive_int, expect_shape, expect_tensor


def padding_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Mask out padded keys. ``lengths``: (batch,) valid lengths -> (batch, 1, max_len) bool."""
    expect_shape(lengths, "batch", name="lengths")
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise TypeError(f"lengths: expected an integer tensor, got dtype {lengths.dtype}")
    longest = int(lengths.max()) if lengths.numel() else 0
    max_len = longest if max_len is None else max_len
    if lengths.numel() and (int(lengths.min()) < 0 or longest > max_len):
        raise ValueError(
            f"lengths: every length must be in [0, max_len={max_len}], "
            f"got min {int(lengths.min())} and max {longest}"
        )
    positions = torch.arange(max_len, device=lengths.device)  # (max_len,)
    return (positions[None, :] < lengths[:, None])[:, None, :]  # (batch, 1, max_len)


def causal_mask(n: int) -> torch.Tensor:
    """Query i may attend to keys 0..i. Returns (n, n) bool, lower triangle True."""
    expect_positive_int(n, "n")
    return torch.ones(n, n, dtype=torch.bool).tril()  # (n, n)


def local_window_mask(n: int, window: int, causal: bool = False) -> torch.Tensor:
    """Query i may attend to keys j with |i - j| <= window (and j <= i if ``causal``).

    Returns (n, n) bool.
    """
    expect_positive_int(n, "n")
    expect_positive_int(window, "window", minimum=0)
    i = torch.arange(n)[:, None]  # (n, 1)
    j = torch.arange(n)[None, :]  # (1, n)
    mask = (i - j).abs() <= window  # (n, n)
    return mask & (j <= i) if causal else mask


def masked_softmax(
    scores: torch.Tensor, mask: torch.Tensor | None = None, dim: int = -1
) -> torch.Tensor:
    """Softmax over ``dim`` that gives masked-out (``False``) positions zero weight.

    ``scores``: (..., queries, keys); ``mask``: bool, broadcastable to ``scores``.
    A row whose keys are all masked gets all-zero weights instead of NaN.
    """
    expect_tensor(scores, "scores")
    if not scores.dtype.is_floating_point:
        raise TypeError(f"scores: expected a floating tensor, got dtype {scores.dtype}")
    if mask is None:
        return torch.softmax(scores, dim=dim)
    expect_tensor(mask, "mask")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask: expected dtype torch.bool (True = attend), got {mask.dtype}")
    try:
        torch.broadcast_shapes(mask.shape, scores.shape)
    except RuntimeError:
        raise ValueError(
            f"mask: shape {tuple(mask.shape)} does not broadcast to the scores' "
            f"shape {tuple(scores.shape)} (..., queries, keys)"
        ) from None
    has_key = mask.any(dim=dim, keepdim=True)  # rows with at least one key to attend to
    keep = mask | ~has_key  # fully masked rows: softmax over 0s, zeroed below (no NaN)
    filled = scores.masked_fill(~keep, float("-inf"))  # (..., queries, keys)
    weights = torch.softmax(filled, dim=dim)
    return weights.masked_fill(~mask, 0.0)
