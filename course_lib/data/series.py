"""A long synthetic time series for lesson 07's forecasting section, and the (look-back,
horizon) examples cut from it.

:func:`synthetic_series` adds, per channel (think "hourly readings of a sensor"):

- a *daily* seasonality of period ``P_day`` drawn in ``[23.3, 24.7]`` steps, with a second
  harmonic so that the daily shape is not a pure sine, and a *weekly* one of period ``P_week``
  drawn in ``[160, 176]`` steps. Neither period is an integer, so repeating the last 24 or 168
  steps (seasonal naive) drifts out of phase;
- a slow linear trend and random level shifts (on average one per ``shift_every`` steps), so
  that the test range sits at levels the training range never saw;
- AR(1) noise (``noise`` standard deviation, correlation ``noise_ar`` from one step to the
  next): a little predictable at short range, pure noise at the horizon.

Amplitudes, phases, periods, trend slope, shift times and sizes and the noise are all drawn
from ``seed`` (a private ``torch.Generator``; the global generators are not touched); the
periods are shared by the channels, the rest is drawn per channel.

Size and provenance: generated here from the seed in milliseconds, never downloaded or cached.
Defaults: one channel of 30,000 steps (about 3.4 years of hourly readings), float32, 120 kB.

:func:`forecast_windows` splits the time axis into three disjoint ranges, train, then
validation, then test (test strictly after train), and cuts every example *entirely* inside its
range: no input and no target of one split overlaps a step of another. Training examples start
every ``step`` steps (overlapping), validation and test examples every ``eval_step`` steps
(default ``horizon``: their targets do not overlap either).

Shapes: ``values`` (channels, length); examples ``x`` (n, channels, lookback), ``y``
(n, channels, horizon) — views of ``values`` (``Tensor.unfold``), no copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from scipy.signal import lfilter

from course_lib.core.shapes import expect_int, expect_positive_int, expect_shape

__all__ = [
    "ForecastSplit",
    "ForecastSplits",
    "SeriesConfig",
    "SyntheticSeries",
    "forecast_windows",
    "synthetic_series",
]


def _number(value: object, name: str, minimum: float = 0.0, maximum: float = math.inf) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and minimum <= value <= maximum
    if not ok:
        bound = f">= {minimum:g}" if maximum == math.inf else f"in [{minimum:g}, {maximum:g}]"
        raise ValueError(f"{name}: expected a finite number {bound}, got {value!r}")
    return value


@dataclass(frozen=True)
class SeriesConfig:
    """``channels`` series of ``length`` steps: seasonal amplitudes about ``daily`` and
    ``weekly``, a trend of about ``trend`` over the whole series, level shifts of std
    ``shift_scale`` about every ``shift_every`` steps, AR(1) noise of std ``noise`` and lag-1
    correlation ``noise_ar``."""

    length: int = 30_000
    channels: int = 1
    daily: float = 1.0
    weekly: float = 0.7
    trend: float = 2.0
    shift_every: int = 3_000
    shift_scale: float = 0.5
    noise: float = 0.35
    noise_ar: float = 0.6

    def __post_init__(self) -> None:
        expect_positive_int(self.length, "length", minimum=2)
        expect_positive_int(self.channels, "channels")
        expect_positive_int(self.shift_every, "shift_every")
        for name in ("daily", "weekly", "trend", "shift_scale", "noise"):
            _number(getattr(self, name), name)
        _number(self.noise_ar, "noise_ar", 0.0, 0.99)


@dataclass(frozen=True)
class SyntheticSeries:
    """``values`` (channels, length) float32 = ``seasonal + trend + noise`` (each the same
    shape); ``periods``: the drawn ``{"day": P_day, "week": P_week}`` in steps."""

    values: torch.Tensor
    seasonal: torch.Tensor
    trend: torch.Tensor
    noise: torch.Tensor
    periods: dict[str, float]
    seed: int


def synthetic_series(config: SeriesConfig | None = None, seed: int = 0) -> SyntheticSeries:
    """Draw the series described in the module docstring; the same ``seed`` gives the same
    tensors. Returns :class:`SyntheticSeries` with ``values`` (channels, length) float32."""
    c = config or SeriesConfig()
    expect_int(seed, "seed")
    gen = torch.Generator().manual_seed(seed)

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(shape, generator=gen, dtype=torch.float64)

    channels, length = c.channels, c.length
    t = torch.arange(length, dtype=torch.float64)  # (length,)
    p_day, p_week = float(uniform(23.3, 24.7, 1)), float(uniform(160.0, 176.0, 1))
    amp = uniform(0.7, 1.3, channels, 3) * torch.tensor([c.daily, 0.4 * c.daily, c.weekly])
    phase = uniform(0.0, 2 * math.pi, channels, 3)  # (channels, 3)
    angle = 2 * math.pi * t / torch.tensor([p_day, p_day / 2, p_week])[:, None]  # (3, length)
    seasonal = (amp[:, :, None] * torch.sin(angle + phase[:, :, None])).sum(1)  # (ch, length)

    slope = c.trend * uniform(-1.0, 1.0, channels, 1)  # (channels, 1): change over the series
    shifts = torch.rand(channels, length, generator=gen) < 1.0 / c.shift_every  # (ch, length)
    jumps = c.shift_scale * torch.randn(channels, length, generator=gen, dtype=torch.float64)
    trend = slope * t / length + (jumps * shifts).cumsum(-1)  # (channels, length)

    white = torch.randn(channels, length, generator=gen, dtype=torch.float64)  # (ch, length)
    scale = c.noise * math.sqrt(1 - c.noise_ar**2)  # so that the AR(1) noise has std `noise`
    noise = torch.from_numpy(lfilter([scale], [1.0, -c.noise_ar], white.numpy(), axis=-1))
    noise = noise.to(torch.float64)  # (channels, length): e_t = ar * e_{t-1} + scale * w_t

    parts = [p.to(torch.float32) for p in (seasonal, trend, noise)]
    values = (seasonal + trend + noise).to(torch.float32)  # (channels, length)
    return SyntheticSeries(values, *parts, {"day": p_day, "week": p_week}, seed)


@dataclass(frozen=True)
class ForecastSplit:
    """One split: ``x`` (n, channels, lookback), ``y`` (n, channels, horizon) and ``starts``
    (n,), the index in the series of each example's first look-back step."""

    x: torch.Tensor
    y: torch.Tensor
    starts: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class ForecastSplits:
    """Train, validation and test examples from the disjoint ranges ``ranges[name] =
    (first, end)`` of the time axis (end excluded), in that order along time."""

    train: ForecastSplit
    val: ForecastSplit
    test: ForecastSplit
    ranges: dict[str, tuple[int, int]]
    lookback: int
    horizon: int


def _cut(
    values: torch.Tensor, first: int, end: int, lookback: int, horizon: int, step: int, name: str
) -> ForecastSplit:
    span = lookback + horizon
    if end - first < span:
        raise ValueError(
            f"{name}: its range [{first}, {end}) has {end - first} steps, fewer than "
            f"lookback + horizon = {span}; use a longer series or larger fractions"
        )
    windows = values[:, first:end].unfold(-1, span, step)  # (channels, n, span): a view
    windows = windows.transpose(0, 1)  # (n, channels, span)
    starts = first + step * torch.arange(windows.shape[0])  # (n,)
    return ForecastSplit(windows[..., :lookback], windows[..., lookback:], starts)


def forecast_windows(
    values: torch.Tensor,
    lookback: int,
    horizon: int,
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    step: int = 1,
    eval_step: int | None = None,
) -> ForecastSplits:
    """Cut (look-back, horizon) examples from ``values`` (channels, length) or (length,):
    the first ``fractions[0]`` of the time axis for training, the next ``fractions[1]`` for
    validation, the rest (``fractions[2]``) for test, every example inside its own range.
    Training examples start every ``step`` steps, validation and test ones every
    ``eval_step`` (default ``horizon``). Returns :class:`ForecastSplits` (views, no copy)."""
    if isinstance(values, torch.Tensor) and values.dim() == 1:
        values = values[None]  # (1, length)
    sizes = expect_shape(values, "channels, length", name="values")
    lookback = expect_positive_int(lookback, "lookback")
    horizon = expect_positive_int(horizon, "horizon")
    step = expect_positive_int(step, "step")
    eval_step = horizon if eval_step is None else expect_positive_int(eval_step, "eval_step")
    if len(fractions) != 3:
        raise ValueError(f"fractions: expected (train, val, test), got {fractions!r}")
    for name, f in zip(("train", "val", "test"), fractions, strict=True):
        _number(f, f"fractions ({name})", 0.0, 1.0)
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions: expected (train, val, test) summing to 1, got {fractions}")
    length = sizes["length"]
    cut1 = round(fractions[0] * length)
    cut2 = round((fractions[0] + fractions[1]) * length)
    ranges = {"train": (0, cut1), "val": (cut1, cut2), "test": (cut2, length)}
    splits = {
        name: _cut(values, a, b, lookback, horizon, step if name == "train" else eval_step, name)
        for name, (a, b) in ranges.items()
    }
    return ForecastSplits(**splits, ranges=ranges, lookback=lookback, horizon=horizon)
