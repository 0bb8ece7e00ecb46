"""What attention costs: time and peak memory against the sequence length ``n``, and the
exponent ``p`` of ``cost ~ n^p`` fitted on a log-log plot.

Three ways to compute self-attention over ``n`` tokens (inputs (batch, heads, n, d)):

- ``"naive"``: :func:`course_lib.core.attention.attention` — builds the (n, n) scores and weights;
  time and memory ~ n^2;
- ``"sdpa"``: ``F.scaled_dot_product_attention`` — the same n^2 arithmetic in one fused kernel
  that walks over blocks of keys and never stores the (n, n) matrix: time ~ n^2, memory ~ n
  (on CPU the fused kernel needs 4-D inputs; 3-D inputs fall back to the n^2-memory "math"
  path);
- ``"local"``: :func:`course_lib.core.local_attention.blocked_local_attention` — each token attends
  to its ``window`` neighbours on either side only (the band of lesson 02's
  ``banded_attention``, computed a block of queries at a time with matrix products): time and
  memory ~ n (for a fixed window).

:func:`peak_tensor_bytes` counts the bytes of every tensor the computation allocates, live at
the same moment (inputs excluded), by watching each operation's outputs with a
``TorchDispatchMode``; scratch buffers a fused kernel allocates and frees inside itself (a few
fixed-size blocks per thread in the CPU flash kernel) are not seen.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from course_lib.core.attention import attention
from course_lib.core.local_attention import blocked_local_attention
from course_lib.core.shapes import expect_positive_int

METHODS = ("naive", "sdpa", "local")


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The course's attention on (batch, heads, n, d), heads folded into the batch."""
    b, h, n, d = q.shape
    out, _ = attention(
        q.reshape(b * h, n, d), k.reshape(b * h, n, d), v.reshape(b * h, n, d)
    )  # (b*h, n, d), weights (b*h, n, n)
    return out.reshape(b, h, n, d)  # (batch, heads, n, d)


def attention_fn(method: str, window: int = 16) -> Callable[..., torch.Tensor]:
    """``f(q, k, v) -> out`` (batch, heads, n, d) for ``method`` in :data:`METHODS`."""
    if method == "naive":
        return naive_attention
    if method == "sdpa":
        return F.scaled_dot_product_attention
    if method == "local":
        return lambda q, k, v: blocked_local_attention(q, k, v, window)
    raise ValueError(f"method: expected one of {METHODS}, got {method!r}")


class _LiveTensorBytes(TorchDispatchMode):
    """Sum of the storage bytes of tensors created under the mode that are still alive."""

    def __init__(self) -> None:
        super().__init__()
        self.current = self.peak = 0
        self.live: dict[int, int] = {}

    def _free(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key = id(storage)
            if key in self.live or storage.nbytes() == 0:  # a view of a tensor already counted
                continue
            self.live[key] = storage.nbytes()
            self.current += storage.nbytes()
            self.peak = max(self.peak, self.current)
            weakref.finalize(storage, self._free, key)
        return out


@torch.no_grad()
def peak_tensor_bytes(fn: Callable[..., object], *args: torch.Tensor) -> int:
    """Peak bytes of the tensors that ``fn(*args)`` allocates (alive at once), inputs excluded."""
    with _LiveTensorBytes() as tracker:
        result = fn(*args)
        del result
    return tracker.peak


CLOCKS = {"thread": time.thread_time, "wall": time.perf_counter}


@torch.no_grad()
def min_seconds(
    fn: Callable[..., object],
    *args: torch.Tensor,
    repeats: int = 5,
    warmup: bool = True,
    clock: str = "wall",
) -> float:
    """The fastest of ``repeats`` timed calls (after one warm-up call): on a shared machine the
    minimum is the run least disturbed by other processes. ``clock="thread"`` counts the CPU
    time of this thread only (user + system), which waiting for a busy CPU does not inflate;
    it is the whole cost only when torch runs on this one thread."""
    expect_positive_int(repeats, "repeats")
    if clock not in CLOCKS:
        raise ValueError(f"clock: expected one of {tuple(CLOCKS)}, got {clock!r}")
    now = CLOCKS[clock]
    if warmup:
        fn(*args)
    best = math.inf
    for _ in range(repeats):
        start = now()
        fn(*args)
        best = min(best, now() - start)
    return best


@dataclass(frozen=True)
class CostCurve:
    """Seconds and peak tensor bytes of one method at each sequence length ``ns``."""

    method: str
    ns: tuple[int, ...]
    seconds: tuple[float, ...]
    peak_bytes: tuple[int, ...]


def measure(
    method: str,
    ns: Sequence[int],
    batch: int = 1,
    heads: int = 4,
    d: int = 32,
    window: int = 16,
    repeats: int = 5,
    threads: int = 1,
    seed: int = 0,
    clock: str = "thread",
) -> CostCurve:
    """Time (min of ``repeats``) and peak memory of self-attention with random q, k, v
    (batch, heads, n, d) for each ``n`` in ``ns``, on ``threads`` threads. The repeats are
    rounds over all lengths, so that a moment when the machine is busy spoils one sample of
    each length rather than every sample of one. ``clock="thread"`` (the default; needs
    ``threads=1``) times the CPU work of this thread, unaffected by other processes' load."""
    if clock == "thread" and threads != 1:
        raise ValueError(f"clock: 'thread' times one thread only; use threads=1, got {threads}")
    if list(ns) != sorted(set(ns)) or not ns or min(ns) < 1:
        raise ValueError(f"ns: expected increasing positive lengths, got {list(ns)!r}")
    fn = attention_fn(method, window)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(3, batch, heads, n, d, generator=g).unbind(0) for n in ns]  # (b,h,n,d)
    best = [math.inf] * len(ns)
    try:
        for q, k, v in inputs:
            fn(q, k, v)  # warm-up
        for _ in range(repeats):  # sweep all lengths each round: a busy moment spoils one
            for i, (q, k, v) in enumerate(inputs):  # sample per length, not all of them
                once = min_seconds(fn, q, k, v, repeats=1, warmup=False, clock=clock)
                best[i] = min(best[i], once)
        peaks = [peak_tensor_bytes(fn, q, k, v) for q, k, v in inputs]
    finally:
        torch.set_num_threads(old_threads)
    seconds = best
    return CostCurve(method, tuple(ns), tuple(seconds), tuple(peaks))


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``: the ``p`` in ``y ~ x^p``."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(
            f"xs, ys: expected two equally long sequences of >= 2 points, "
            f"got {len(xs)} and {len(ys)}"
        )
    if min(xs) <= 0 or min(ys) <= 0:
        raise ValueError("xs, ys: a log-log fit needs positive values")
    lx = torch.tensor([math.log(x) for x in xs], dtype=torch.float64)  # (points,)
    ly = torch.tensor([math.log(y) for y in ys], dtype=torch.float64)  # (points,)
    lx_c = lx - lx.mean()
    return float((lx_c * (ly - ly.mean())).sum() / (lx_c**2).sum())


def fitted_exponent(curve: CostCurve, what: str = "seconds", last: int | None = None) -> float:
    """The least-squares log-log slope of ``curve``'s ``what`` ("seconds" or "peak_bytes") over
    its ``last`` (largest) lengths, all of them by default: a matrix that outgrows a cache level
    puts a step in a timing curve, and a fit over the whole range averages such steps out."""
    if what not in ("seconds", "peak_bytes"):
        raise ValueError(f"what: expected 'seconds' or 'peak_bytes', got {what!r}")
    last = len(curve.ns) if last is None else last
    expect_positive_int(last, "last", minimum=2, maximum=len(curve.ns))
    return loglog_slope(curve.ns[-last:], getattr(curve, what)[-last:])
