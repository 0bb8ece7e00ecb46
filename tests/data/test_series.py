"""Tests of course_lib.data.series: the synthetic series is deterministic and built as
documented, and forecast_windows cuts examples from disjoint, ordered time ranges."""

import pytest
import torch

from course_lib.data.series import (
    ForecastSplits,
    SeriesConfig,
    SyntheticSeries,
    forecast_windows,
    synthetic_series,
)

SMALL = SeriesConfig(length=3_000, channels=2)


def test_shapes_dtypes_and_parts():
    s = synthetic_series(SMALL, seed=0)
    assert isinstance(s, SyntheticSeries)
    for part in (s.values, s.seasonal, s.trend, s.noise):
        assert part.shape == (2, 3_000) and part.dtype == torch.float32
    assert torch.allclose(s.seasonal + s.trend + s.noise, s.values, atol=1e-5)
    assert 23.3 <= s.periods["day"] <= 24.7 and 160 <= s.periods["week"] <= 176
    assert s.periods["day"] != round(s.periods["day"]), "the periods are not integers"
    assert not torch.equal(s.values[0], s.values[1]), "channels are drawn separately"
    assert float(s.noise.std()) == pytest.approx(SMALL.noise, rel=0.2)


def test_default_size():
    assert synthetic_series().values.shape == (1, 30_000)


def test_same_seed_same_series_other_seed_other_series():
    a, b, c = (synthetic_series(SMALL, seed=k) for k in (3, 3, 4))
    assert torch.equal(a.values, b.values) and a.periods == b.periods
    assert not torch.equal(a.values, c.values)


def test_does_not_touch_global_rng():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    synthetic_series(SMALL, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_windows_shapes_and_content():
    values = synthetic_series(SMALL, seed=1).values  # (2, 3000)
    splits = forecast_windows(values, lookback=200, horizon=50, step=3)
    assert isinstance(splits, ForecastSplits)
    assert splits.ranges == {"train": (0, 2100), "val": (2100, 2400), "test": (2400, 3000)}
    assert len(splits.train) == (2100 - 250) // 3 + 1
    assert len(splits.val) == (300 - 250) // 50 + 1 and len(splits.test) == (600 - 250) // 50 + 1
    for name in ("train", "val", "test"):
        split = getattr(splits, name)
        assert split.x.shape == (len(split), 2, 200) and split.y.shape == (len(split), 2, 50)
        for i in (0, len(split) - 1):
            start = int(split.starts[i])
            assert torch.equal(split.x[i], values[:, start : start + 200])
            assert torch.equal(split.y[i], values[:, start + 200 : start + 250])


def test_splits_are_disjoint_and_ordered():
    splits = forecast_windows(synthetic_series(SMALL).values, lookback=200, horizon=50)
    spans = {}
    for name in ("train", "val", "test"):
        split = getattr(splits, name)
        first, end = splits.ranges[name]
        lo, hi = int(split.starts.min()), int(split.starts.max()) + 250
        assert first <= lo and hi <= end, f"{name}: every window lies inside its range"
        spans[name] = (lo, hi)
    assert spans["train"][1] <= spans["val"][0] and spans["val"][1] <= spans["test"][0]
    # validation and test targets do not overlap each other either (eval_step = horizon)
    targets = splits.test.starts + 200  # (n,)
    assert torch.all(targets[1:] - targets[:-1] >= 50)


def test_one_dimensional_series_is_one_channel():
    splits = forecast_windows(torch.arange(1000.0), lookback=64, horizon=16)
    assert splits.train.x.shape[1:] == (1, 64)
    assert torch.equal(splits.train.y[0, 0], torch.arange(64.0, 80.0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lookback": 0, "horizon": 5}, "lookback"),
        ({"lookback": 10, "horizon": 2.5}, "horizon"),
        ({"lookback": 10, "horizon": 5, "step": 0}, "step"),
        ({"lookback": 10, "horizon": 5, "fractions": (0.5, 0.5, 0.5)}, "summing to 1"),
        ({"lookback": 10, "horizon": 5, "fractions": (1.2, -0.1, -0.1)}, "fractions"),
        ({"lookback": 10, "horizon": 5, "fractions": (0.5, 0.5)}, "fractions"),
        ({"lookback": 80, "horizon": 40}, "val: its range"),
    ],
)
def test_window_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        forecast_windows(torch.zeros(1, 1000), **kwargs)


def test_values_must_be_a_series():
    with pytest.raises(ValueError, match="values"):
        forecast_windows(torch.zeros(2, 3, 100), lookback=10, horizon=5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"length": 1}, "length"),
        ({"channels": 0}, "channels"),
        ({"noise": -0.1}, "noise"),
        ({"noise_ar": 1.0}, "noise_ar"),
        ({"daily": float("nan")}, "daily"),
        ({"shift_every": 0}, "shift_every"),
    ],
)
def test_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SeriesConfig(**kwargs)


def test_seed_must_be_an_int():
    with pytest.raises(TypeError, match="seed"):
        synthetic_series(SMALL, seed=1.5)
