"""What exact attention costs in memory, three ways, each measured in a fresh process.

- ``"naive"``: lesson 01's attention (``course_lib.core.attention_cost.naive_attention``): the
  (n, n) scores and weights are stored, memory ~ n^2;
- ``"tiled"``: :func:`course_lib.scale.flash.tiled_attention`, one tile of scores at a time,
  memory ~ n;
- ``"sdpa"``: ``F.scaled_dot_product_attention``, torch's fused kernel doing the same tiling in
  C++, memory ~ n.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F

from course_lib.core.attention_cost import loglog_slope, naive_attention
from course_lib.core.shapes import expect_positive_int
from course_lib.scale.flash import tiled_attention
from course_lib.scale.memory import in_child, peak_here

METHODS = ("naive", "tiled", "sdpa")


def attention_method(method: str, block: int = 256):
    """``f(q, k, v) -> out`` on (batch, heads, n, d) for ``method`` in :data:`METHODS`."""
    if method == "naive":
        return naive_attention
    if method == "tiled":
        return partial(tiled_attention, block_q=block, block_k=block)
    if method == "sdpa":
        return F.scaled_dot_product_attention
    raise ValueError(f"method: expected one of {METHODS}, got {method!r}")


def _attention_peak(method: str, n: int, d: int, block: int) -> int:
    fn = attention_method(method, block)
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(3, 1, 1, n, d, generator=g).unbind(0)  # (1, 1, n, d) each
    with torch.no_grad():
        fn(q[..., :block, :], k[..., :block, :], v[..., :block, :])  # warm-up: first-call setup
        return peak_here(lambda: fn(q, k, v))


def attention_peak_bytes(method: str, n: int, d: int = 64, block: int = 256) -> int:
    """Peak resident memory (bytes) of one self-attention forward over ``n`` tokens of ``d``
    features (batch 1, 1 head), inputs excluded, measured in a fresh process on one thread."""
    attention_method(method)
    expect_positive_int(n, "n")
    expect_positive_int(d, "d")
    expect_positive_int(block, "block")
    return in_child(_attention_peak, method, n, d, block)


@dataclass(frozen=True)
class MemoryCurve:
    """Peak bytes of one method at each sequence length, and the fitted exponent p in
    peak ~ n^p."""

    method: str
    ns: tuple[int, ...]
    peak_bytes: tuple[int, ...]

    @property
    def exponent(self) -> float:
        return loglog_slope(self.ns, self.peak_bytes)


def memory_curve(method: str, ns: list[int], d: int = 64, block: int = 256) -> MemoryCurve:
    """:func:`attention_peak_bytes` at each length in ``ns`` (increasing)."""
    if list(ns) != sorted(set(ns)) or not ns:
        raise ValueError(f"ns: expected increasing lengths, got {list(ns)!r}")
    peaks = tuple(attention_peak_bytes(method, n, d, block) for n in ns)
    return MemoryCurve(method, tuple(ns), peaks)
