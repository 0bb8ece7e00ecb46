"""Tests of course_lib.scale.forecasting: patches, the PatchTST-style forecaster (shapes,
shift equivariance from instance normalisation, attention over patches), the baselines on hand
examples, the errors, and a short run that beats the last-value baseline."""

from dataclasses import replace

import pytest
import torch

from course_lib.data.series import SeriesConfig
from course_lib.scale.forecasting import (
    ForecastExperimentConfig,
    LinearForecaster,
    PatchForecaster,
    PatchForecasterConfig,
    forecast_errors,
    forecast_experiment,
    instance_normalise,
    last_value_forecast,
    n_patches,
    noise_floor,
    patchify_series,
    seasonal_naive_forecast,
)

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = PatchForecasterConfig(
    lookback=64, horizon=12, patch_len=8, stride=4, d_model=16, n_heads=2, d_ff=32, n_layers=2
)


@pytest.mark.parametrize(("length", "patch", "stride", "n"), [(512, 16, 16, 32), (512, 16, 8, 63)])
def test_patch_counts(length, patch, stride, n):
    assert n_patches(length, patch, stride) == n
    assert patchify_series(torch.zeros(2, length), patch, stride).shape == (2, n, patch)


@pytest.mark.parametrize(("patch", "stride"), [(4, 4), (4, 2), (5, 3), (1, 1)])
def test_patch_i_is_the_slice_at_i_stride(patch, stride):
    x = torch.randn(3, 23)
    patches = patchify_series(x, patch, stride)
    assert patches.shape == (3, (23 - patch) // stride + 1, patch)
    for i in range(patches.shape[1]):
        assert torch.equal(patches[:, i], x[:, i * stride : i * stride + patch])


def test_patchify_errors():
    with pytest.raises(ValueError, match="length: expected an int >= patch_len=8"):
        patchify_series(torch.zeros(2, 5), 8, 4)
    with pytest.raises(ValueError, match="stride"):
        patchify_series(torch.zeros(2, 16), 8, 0)
    with pytest.raises(ValueError, match=r"x: expected 2 dims \(batch, L\)"):
        patchify_series(torch.zeros(16), 8, 8)
    with pytest.raises(TypeError, match="x"):
        patchify_series([1.0, 2.0], 1, 1)


def test_output_shapes_and_channel_independence():
    torch.manual_seed(0)
    model = PatchForecaster(SMALL).eval()
    x = torch.randn(5, 3, 64)
    out = model(x)
    assert out.shape == (5, 3, 12)
    assert model(x[:, 1]).shape == (5, 12)
    assert torch.allclose(out[:, 1], model(x[:, 1]), atol=1e-5), "channels are forecast alone"


def test_instance_norm_makes_the_forecast_shift_equivariant():
    torch.manual_seed(0)
    model = PatchForecaster(SMALL).eval()
    x = torch.randn(4, 64)
    with torch.no_grad():
        base, shifted = model(x), model(x + 7.5)
    assert torch.allclose(shifted, base + 7.5, atol=1e-4)
    raw = PatchForecaster(replace(SMALL, instance_norm=False))
    with torch.no_grad():
        assert not torch.allclose(raw.eval()(x + 7.5), raw(x) + 7.5, atol=1e-2)
    linear = LinearForecaster(64, 12).eval()
    with torch.no_grad():
        assert torch.allclose(linear(x - 3.0), linear(x) - 3.0, atol=1e-4)


def test_instance_normalise():
    x = torch.tensor([[1.0, 3.0], [5.0, 5.0]])
    z, mean, std = instance_normalise(x)
    assert torch.allclose(mean, torch.tensor([[2.0], [5.0]]))
    assert torch.allclose(z[0], torch.tensor([-1.0, 1.0]), atol=1e-4)
    assert torch.allclose(z[1], torch.zeros(2)), "a flat window stays finite (eps)"
    assert torch.allclose(z * std + mean, x)


def test_attention_over_patches():
    model = PatchForecaster(SMALL).eval()
    with pytest.raises(RuntimeError, match="run the model"):
        model.attention_weights()
    model(torch.randn(2, 3, 64))
    weights = model.attention_weights()
    assert len(weights) == 2
    for w in weights:
        assert w.shape == (6, 2, SMALL.n_patches, SMALL.n_patches)  # (batch*channels, heads, N, N)
        assert torch.allclose(w.sum(-1), torch.ones(6, 2, SMALL.n_patches), atol=1e-5)


def test_last_value_on_a_hand_example():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, -1.0]])
    assert torch.equal(last_value_forecast(x, 2), torch.tensor([[3.0, 3.0], [-1.0, -1.0]]))


def test_seasonal_naive_on_hand_examples():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    assert torch.equal(seasonal_naive_forecast(x, 5, 2), torch.tensor([4.0, 5.0, 4.0, 5.0, 4.0]))
    assert torch.equal(seasonal_naive_forecast(x, 2, 3), torch.tensor([3.0, 4.0]))
    assert torch.equal(seasonal_naive_forecast(x, 3, 1), last_value_forecast(x, 3))
    t = torch.arange(48.0)
    wave = torch.sin(2 * torch.pi * t / 8)  # an exact integer period: seasonal naive is exact
    assert torch.allclose(seasonal_naive_forecast(wave[:40], 8, 8), wave[40:], atol=1e-5)
    with pytest.raises(ValueError, match=r"period: expected an int in \[1, 5\]"):
        seasonal_naive_forecast(x, 2, 6)


def test_forecast_errors_on_a_hand_example():
    errors = forecast_errors(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0]))
    assert errors == {"mse": pytest.approx(2.5), "mae": pytest.approx(1.5)}
    with pytest.raises(ValueError, match="shapes must match"):
        forecast_errors(torch.zeros(2, 3), torch.zeros(3, 2))


def test_noise_floor():
    one = noise_floor(SeriesConfig(noise=0.5, noise_ar=0.6), 1)
    assert one == pytest.approx(0.25 * (1 - 0.36))
    assert noise_floor(SeriesConfig(noise=0.5, noise_ar=0.6), 1000) == pytest.approx(0.25, 0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lookback": 8, "patch_len": 16}, "lookback: expected an int >= patch_len=16"),
        ({"stride": 32}, "stride: expected an int in \\[1, 16\\]"),
        ({"lookback": 500}, "lookback = 496 or 512"),
        ({"n_heads": 3}, "n_heads"),
        ({"horizon": 0}, "horizon"),
        ({"eps": 0.0}, "eps"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PatchForecasterConfig(**kwargs)


def test_model_input_errors():
    model = PatchForecaster(SMALL)
    with pytest.raises(ValueError, match="lookback=64"):
        model(torch.zeros(2, 63))
    with pytest.raises(ValueError, match="float"):
        model(torch.zeros(2, 64, dtype=torch.long))
    with pytest.raises(ValueError, match="period"):
        ForecastExperimentConfig(model=SMALL, periods=(24, 168))


def test_short_training_beats_the_last_value_baseline():
    config = ForecastExperimentConfig(
        series=SeriesConfig(length=6_000),
        model=PatchForecasterConfig(
            lookback=128, horizon=24, patch_len=16, stride=16, d_model=16, n_heads=2, d_ff=32
        ),
        periods=(24,),
        steps=120,
        batch_size=32,
        lr=3e-3,
    )
    result = forecast_experiment(seed=0, config=config)
    test = result["test"]
    assert set(test) == {"patchtst", "linear", "last_value", "seasonal_naive"}
    assert test["patchtst"]["mse"] < 0.5 * test["last_value"]["mse"]
    assert test["patchtst"]["mse"] > 0.5 * result["noise_floor"], "no leak of the targets"
    assert result["seconds"]["patchtst"] < 15
    examples = result["examples"]
    assert examples["x"].shape == (4, 128) and examples["y"].shape == (4, 24)
    assert examples["forecasts"]["patchtst"].shape == (4, 24)
    assert examples["attention"].shape == (4, 2, 8, 8)
    assert result["settings"]["n_patches"] == 8 and result["seasonal_period"] == 24
