"""Long sequences beyond text: a patched transformer forecaster for a long time series
(PatchTST, Nie et al. 2023, "A time series is worth 64 words"), against naive baselines.

A look-back window of ``L`` steps as ``L`` tokens would cost attention ``L^2`` scores per head
and give every token one number to say something with. PatchTST cuts the window into patches of
``P`` steps every ``S`` steps (:func:`patchify_series`: ``N = (L - P) // S + 1`` patches; 512
steps -> 32 patches of 16 with stride 16, or 63 with stride 8), embeds each patch linearly as
one token, adds learned positions, runs a transformer encoder over the ``N`` patch tokens and
maps all of them at once (flattened) to the ``H`` forecast steps with one linear head.
*Instance normalisation* (RevIN without its affine part) subtracts each window's mean and
divides by its standard deviation before the model and undoes it after, so that a level the
training range never saw (a trend, a level shift) is not a problem: adding a constant to the
input adds it to the forecast. Every channel is forecast on its own with the same weights
("channel independence").

- :func:`patchify_series`, :class:`PatchForecasterConfig`, :class:`PatchForecaster` (built from
  :class:`~course_lib.core.transformer.TransformerBlock`; ``attention_weights()`` returns the
  last forward's attention over patches, (batch, heads, N, N) per block);
- baselines: :func:`last_value_forecast` (repeat the last value) and
  :func:`seasonal_naive_forecast` (repeat the last ``period`` steps);
- :func:`forecast_errors` (MSE and MAE on the series' own scale), :func:`train_forecaster`
  (:func:`~course_lib.train.loops.train_steps` on random mini-batches of windows);
- :func:`forecast_experiment`: the notebook's run on :mod:`course_lib.data.series`.

Shapes: ``x`` (batch, L) or (batch, channels, L); patches (batch, N, P); tokens
(batch, N, d_model); forecasts (batch, H) or (batch, channels, H).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.positional import LearnedPositions
from course_lib.core.shapes import expect_int, expect_positive_int, expect_tensor
from course_lib.core.transformer import TransformerBlock, TransformerConfig
from course_lib.data.series import (
    ForecastSplit,
    SeriesConfig,
    forecast_windows,
    synthetic_series,
)
from course_lib.train.loops import StepConfig, StepHistory, train_steps
from course_lib.train.utils import count_parameters, seed_everything

__all__ = [
    "ForecastExperimentConfig",
    "LinearForecaster",
    "PatchForecaster",
    "PatchForecasterConfig",
    "forecast_errors",
    "forecast_experiment",
    "instance_normalise",
    "last_value_forecast",
    "n_patches",
    "noise_floor",
    "patchify_series",
    "predict",
    "seasonal_naive_forecast",
    "train_forecaster",
]


def _series_tensor(x: object, name: str, min_length: int = 1) -> torch.Tensor:
    """``x`` as a floating tensor (..., L) with at least one axis and ``L >= min_length``."""
    x = expect_tensor(x, name)
    if x.dim() < 1 or not x.is_floating_point():
        raise ValueError(
            f"{name}: expected a float tensor (..., L), got {x.dtype} {tuple(x.shape)}"
        )
    if x.shape[-1] < min_length:
        raise ValueError(
            f"{name}: dim -1 (L) is {x.shape[-1]}, shorter than the {min_length} steps needed"
        )
    return x


def n_patches(length: int, patch_len: int, stride: int) -> int:
    """Number of patches of ``patch_len`` steps every ``stride`` steps in ``length`` steps:
    ``(length - patch_len) // stride + 1``."""
    expect_positive_int(patch_len, "patch_len")
    expect_positive_int(stride, "stride")
    expect_positive_int(length, "length", minimum=patch_len, minimum_name="patch_len")
    return (length - patch_len) // stride + 1


def patchify_series(x: torch.Tensor, patch_len: int, stride: int) -> torch.Tensor:
    """Cut ``x`` (batch, L) into patches (batch, N, patch_len), patch ``i`` being
    ``x[:, i * stride : i * stride + patch_len]``; ``N = (L - patch_len) // stride + 1`` (steps
    after the last whole patch are left out). A view of ``x`` (``Tensor.unfold``), no copy."""
    x = _series_tensor(x, "x")
    if x.dim() != 2:
        raise ValueError(f"x: expected 2 dims (batch, L), got shape {tuple(x.shape)}")
    n_patches(x.shape[-1], patch_len, stride)  # checks the arguments and L >= patch_len
    return x.unfold(-1, patch_len, stride)  # (batch, N, patch_len)


def instance_normalise(
    x: torch.Tensor, enabled: bool = True, eps: float = 1e-5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``x`` (batch, L) -> ``(x - mean) / std``, ``mean``, ``std`` (batch, 1) of each window,
    ``std = sqrt(var + eps)``; a forecast ``f`` is brought back as ``f * std + mean``. Not
    ``enabled``: ``x``, 0 and 1."""
    if not enabled:
        return x, torch.zeros_like(x[:, :1]), torch.ones_like(x[:, :1])
    mean = x.mean(-1, keepdim=True)  # (batch, 1)
    std = torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + eps)  # (batch, 1)
    return (x - mean) / std, mean, std  # (batch, L), (batch, 1), (batch, 1)


@dataclass(frozen=True)
class PatchForecasterConfig:
    """Look-back ``lookback`` steps cut into patches of ``patch_len`` every ``stride`` (the
    last patch must end on the last step: ``(lookback - patch_len) % stride == 0``);
    ``n_layers`` transformer blocks of ``d_model`` features, ``n_heads`` heads, an MLP of
    ``d_ff``; a linear head to ``horizon`` steps; ``instance_norm``: normalise each window."""

    lookback: int = 512
    horizon: int = 96
    patch_len: int = 16
    stride: int = 16
    d_model: int = 32
    n_heads: int = 4
    d_ff: int = 64
    n_layers: int = 2
    dropout: float = 0.0
    instance_norm: bool = True
    eps: float = 1e-5

    def __post_init__(self) -> None:
        expect_positive_int(self.horizon, "horizon")
        expect_positive_int(self.n_layers, "n_layers")
        patch_len = expect_positive_int(self.patch_len, "patch_len")
        expect_positive_int(
            self.lookback,
            "lookback",
            minimum=patch_len,
            minimum_name="patch_len",
            note="the look-back must hold at least one patch",
        )
        expect_positive_int(
            self.stride, "stride", maximum=patch_len, note="a stride > patch_len skips steps"
        )
        if (self.lookback - patch_len) % self.stride:
            fit = patch_len + (self.lookback - patch_len) // self.stride * self.stride
            raise ValueError(
                f"stride: (lookback - patch_len) = {self.lookback - patch_len} is not a "
                f"multiple of stride = {self.stride}, so the last patch would end before the "
                f"last step; use lookback = {fit} or {fit + self.stride}, or another stride"
            )
        if not self.eps > 0:
            raise ValueError(f"eps: expected > 0, got {self.eps!r}")
        _ = self.transformer  # checks d_model, n_heads, d_ff, dropout

    @property
    def n_patches(self) -> int:
        """Number of patch tokens ``(lookback - patch_len) // stride + 1``."""
        return n_patches(self.lookback, self.patch_len, self.stride)

    @property
    def transformer(self) -> TransformerConfig:
        return TransformerConfig(self.d_model, self.n_heads, self.d_ff, self.dropout)


class PatchForecaster(nn.Module):
    """PatchTST: instance norm -> patches -> linear patch embedding + learned positions ->
    ``n_layers`` :class:`TransformerBlock` -> LayerNorm -> flatten -> linear head -> undo the
    norm. ``forward(x)``: (batch, L) -> (batch, H), or (batch, channels, L) ->
    (batch, channels, H), every channel on its own with the same weights."""

    def __init__(self, config: PatchForecasterConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or PatchForecasterConfig()
        self.embed = nn.Linear(c.patch_len, c.d_model)
        self.positions = LearnedPositions(c.d_model, c.n_patches)
        self.blocks = nn.ModuleList(TransformerBlock(c.transformer) for _ in range(c.n_layers))
        self.norm = nn.LayerNorm(c.d_model)
        self.head_drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.n_patches * c.d_model, c.horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        x = _series_tensor(x, "x")
        if x.dim() not in (2, 3) or x.shape[-1] != c.lookback:
            raise ValueError(
                f"x: expected (batch, lookback={c.lookback}) or (batch, channels, "
                f"lookback={c.lookback}), got shape {tuple(x.shape)}"
            )
        lead = x.shape[:-1]  # (batch,) or (batch, channels)
        z, mean, std = instance_normalise(x.reshape(-1, c.lookback), c.instance_norm, c.eps)
        patches = patchify_series(z, c.patch_len, c.stride)  # (b*ch, N, P)
        tokens = self.positions(self.embed(patches))  # (b*ch, N, d_model)
        for block in self.blocks:
            tokens = block(tokens)  # (b*ch, N, d_model)
        flat = self.head_drop(self.norm(tokens).flatten(1))  # (b*ch, N * d_model)
        out = self.head(flat) * std + mean  # (b*ch, H): back on the series' scale
        return out.reshape(*lead, c.horizon)  # (batch, H) or (batch, channels, H)

    def attention_weights(self) -> list[torch.Tensor]:
        """The last forward's self-attention weights of every block, each
        (batch*channels, heads, N, N): query patch -> key patch."""
        weights = [block.self_attn.last_weights for block in self.blocks]
        if any(w is None for w in weights):
            raise RuntimeError("attention_weights: run the model on a batch first")
        return weights  # type: ignore[return-value]


class LinearForecaster(nn.Module):
    """The strongest simple learned baseline (Zeng et al. 2023, "Are transformers effective for
    time series forecasting?"): instance norm -> one linear layer ``lookback -> horizon`` ->
    undo the norm. ``forward(x)``: (batch[, channels], lookback) -> (batch[, channels], H)."""

    def __init__(self, lookback: int, horizon: int, instance_norm: bool = True) -> None:
        super().__init__()
        self.lookback = expect_positive_int(lookback, "lookback")
        self.horizon = expect_positive_int(horizon, "horizon")
        self.instance_norm = instance_norm
        self.linear = nn.Linear(lookback, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _series_tensor(x, "x")
        if x.dim() not in (2, 3) or x.shape[-1] != self.lookback:
            raise ValueError(
                f"x: expected (batch, lookback={self.lookback}) or (batch, channels, "
                f"lookback={self.lookback}), got shape {tuple(x.shape)}"
            )
        z, mean, std = instance_normalise(x.reshape(-1, self.lookback), self.instance_norm)
        out = self.linear(z) * std + mean  # (b*ch, H)
        return out.reshape(*x.shape[:-1], self.horizon)  # (batch[, channels], H)


def last_value_forecast(x: torch.Tensor, horizon: int) -> torch.Tensor:
    """Repeat the last observed value: ``x`` (..., L) -> (..., horizon)."""
    x = _series_tensor(x, "x")
    horizon = expect_positive_int(horizon, "horizon")
    return x[..., -1:].expand(*x.shape[:-1], horizon).clone()  # (..., horizon)


def seasonal_naive_forecast(x: torch.Tensor, horizon: int, period: int) -> torch.Tensor:
    """Repeat the last ``period`` steps: forecast step ``h`` is ``x[..., L - period +
    h % period]``. ``x`` (..., L) with ``L >= period`` -> (..., horizon)."""
    x = _series_tensor(x, "x")
    horizon = expect_positive_int(horizon, "horizon")
    length = x.shape[-1]
    period = expect_positive_int(
        period, "period", maximum=length, note="the look-back must hold one period"
    )
    index = length - period + torch.arange(horizon, device=x.device) % period  # (horizon,)
    return x[..., index]  # (..., horizon)


def forecast_errors(forecast: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """``{"mse": ..., "mae": ...}`` of ``forecast`` against ``target`` (same shape), averaged
    over every example, channel and step, on the series' own (de-normalised) scale."""
    forecast, target = expect_tensor(forecast, "forecast"), expect_tensor(target, "target")
    if forecast.shape != target.shape:
        raise ValueError(
            f"forecast and target shapes must match, got {tuple(forecast.shape)} and "
            f"{tuple(target.shape)}"
        )
    diff = (forecast - target).float()
    return {"mse": float(diff.pow(2).mean()), "mae": float(diff.abs().mean())}


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """``model`` in eval mode on ``x`` (n, ..., L) in chunks of ``batch_size`` -> (n, ..., H)."""
    expect_positive_int(batch_size, "batch_size")
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def train_forecaster(
    model: nn.Module,
    train: ForecastSplit,
    config: StepConfig,
    batch_size: int = 64,
    val: ForecastSplit | None = None,
    eval_every: int = 0,
    desc: str = "PatchTST",
) -> StepHistory:
    """Train ``model`` by :func:`~course_lib.train.loops.train_steps` on the MSE of its
    forecasts (on the series' scale), mini-batches of ``batch_size`` windows of ``train``
    (x (n, channels, L), y (n, channels, H)) in a new order every epoch, drawn from
    ``config.seed``. With ``val``, its MSE is recorded every ``eval_every`` steps and at the
    end (``history.metric``)."""
    expect_positive_int(batch_size, "batch_size")
    n = len(train)

    def batches(epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        gen = torch.Generator().manual_seed(1_000_003 * config.seed + epoch)
        order = torch.randperm(n, generator=gen)  # (n,)
        for i in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            index = order[i : i + batch_size]  # (batch,)
            yield train.x[index], train.y[index]  # (batch, ch, L), (batch, ch, H)

    def loss_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(model(x), y)

    def evaluate(model: nn.Module) -> float:
        assert val is not None
        return forecast_errors(predict(model, val.x), val.y)["mse"]

    return train_steps(
        model,
        loss_fn,
        batches,
        config,
        evaluate=None if val is None else evaluate,
        eval_every=eval_every if val is not None else 0,
        desc=desc,
    )


@dataclass(frozen=True)
class ForecastExperimentConfig:
    """The series (:class:`~course_lib.data.series.SeriesConfig`), the model, ``steps`` AdamW
    steps at ``lr`` (warm-up, cosine decay) on batches of ``batch_size``; seasonal naive's
    ``periods`` to choose from (on the validation set); ``linear``: also train a
    :class:`LinearForecaster` the same way; ``n_examples`` test windows to plot; ``threads``:
    torch's threads during the run, restored after (``None``: as they are). One by default:
    these small ops gain little from more, and on a busy 2-core machine 2 threads took 105 s
    where 1 took 6 s."""

    series: SeriesConfig = field(default_factory=SeriesConfig)
    model: PatchForecasterConfig = field(default_factory=PatchForecasterConfig)
    steps: int = 400
    batch_size: int = 64
    lr: float = 2e-3
    periods: tuple[int, ...] = (24, 168)
    linear: bool = True
    n_examples: int = 4
    threads: int | None = 1

    def __post_init__(self) -> None:
        expect_positive_int(self.steps, "steps")
        expect_positive_int(self.batch_size, "batch_size")
        expect_positive_int(self.n_examples, "n_examples")
        if self.threads is not None:
            expect_positive_int(self.threads, "threads")
        if not self.lr > 0:
            raise ValueError(f"lr: expected > 0, got {self.lr!r}")
        if not self.periods:
            raise ValueError("periods: expected at least one seasonal period")
        for period in self.periods:
            expect_positive_int(period, "periods", maximum=self.model.lookback)


def noise_floor(series: SeriesConfig, horizon: int) -> float:
    """The MSE that even a forecaster knowing the seasonality and the trend exactly cannot
    beat: the AR(1) noise's unpredictable part, ``noise^2 (1 - ar^(2h))`` averaged over
    ``h = 1 .. horizon`` (level shifts inside the horizon add to it)."""
    expect_positive_int(horizon, "horizon")
    ar2 = series.noise_ar**2
    return series.noise**2 * sum(1 - ar2**h for h in range(1, horizon + 1)) / horizon


def forecast_experiment(
    seed: int = 0, steps: int | None = None, config: ForecastExperimentConfig | None = None
) -> dict[str, object]:
    """Draw the series from ``seed``, train a :class:`PatchForecaster` (and, with
    ``config.linear``, a :class:`LinearForecaster`), both seeded ``seed``, for ``steps``
    (default ``config.steps``) and compare them with the naive baselines on the test range.

    Returns ``test`` and ``val``: ``{name: {"mse", "mae"}}`` for ``"patchtst"``, ``"linear"``,
    ``"last_value"`` and ``"seasonal_naive"`` (its period chosen on the validation set, in
    ``seasonal_period``); ``noise_floor`` (:func:`noise_floor`); ``seconds`` and ``history``
    ``{trained name: ...}`` (training only; validation MSE in ``history[name].metric``);
    ``wall_seconds``; ``model`` (the PatchForecaster), ``params`` ``{trained name: count}``;
    ``periods`` (the series' true periods); ``examples``: ``x`` (n, L), ``y`` (n, H), ``starts``
    (n,), ``forecasts`` ``{name: (n, H)}`` and ``attention`` (n, heads, N, N), the last
    block's, for ``n_examples`` test windows (first channel); ``settings``."""
    expect_int(seed, "seed")
    c = config or ForecastExperimentConfig()
    steps = c.steps if steps is None else expect_positive_int(steps, "steps")
    threads = torch.get_num_threads()
    torch.set_num_threads(c.threads or threads)
    try:
        return _experiment(seed, steps, c)
    finally:
        torch.set_num_threads(threads)


def _experiment(seed: int, steps: int, c: ForecastExperimentConfig) -> dict[str, object]:
    m = c.model
    wall = time.perf_counter()
    series = synthetic_series(c.series, seed=seed)
    splits = forecast_windows(series.values, m.lookback, m.horizon)

    # seasonal naive's period: the best on the validation set (never the test set)
    val_naive = {
        p: forecast_errors(seasonal_naive_forecast(splits.val.x, m.horizon, p), splits.val.y)
        for p in c.periods
    }
    period = min(c.periods, key=lambda p: val_naive[p]["mse"])

    step_config = StepConfig(
        steps=steps, lr=c.lr, warmup=min(steps // 10, 50), decay="cosine", seed=seed
    )
    seed_everything(seed)
    models: dict[str, nn.Module] = {"patchtst": PatchForecaster(m)}
    if c.linear:
        models["linear"] = LinearForecaster(m.lookback, m.horizon, m.instance_norm)
    histories = {
        name: train_forecaster(
            model, splits.train, step_config, c.batch_size, splits.val, max(steps // 8, 1), name
        )
        for name, model in models.items()
    }

    def forecasts(x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {name: predict(model, x) for name, model in reversed(models.items())}
        out["last_value"] = last_value_forecast(x, m.horizon)
        out["seasonal_naive"] = seasonal_naive_forecast(x, m.horizon, period)
        return out  # PatchTST runs last, so its attention weights are those of `x`

    results = {}
    for name in ("val", "test"):
        split = getattr(splits, name)
        results[name] = {k: forecast_errors(f, split.y) for k, f in forecasts(split.x).items()}

    pick = torch.linspace(0, len(splits.test) - 1, c.n_examples).round().long()  # (n,)
    x, y = splits.test.x[pick, 0], splits.test.y[pick, 0]  # (n, L), (n, H)
    model = models["patchtst"]
    assert isinstance(model, PatchForecaster)
    examples = {
        "x": x.clone(),
        "y": y.clone(),
        "starts": splits.test.starts[pick],
        "forecasts": forecasts(x),
        "attention": model.attention_weights()[-1],  # (n, heads, N, N)
    }
    return {
        "test": results["test"],
        "val": results["val"],
        "seasonal_period": period,
        "noise_floor": noise_floor(c.series, m.horizon),
        "seconds": {name: h.seconds for name, h in histories.items()},
        "history": histories,
        "wall_seconds": time.perf_counter() - wall,
        "model": model,
        "params": {name: count_parameters(model) for name, model in models.items()},
        "periods": series.periods,
        "examples": examples,
        "settings": {
            "seed": seed,
            "steps": steps,
            "lookback": m.lookback,
            "horizon": m.horizon,
            "patch_len": m.patch_len,
            "stride": m.stride,
            "n_patches": m.n_patches,
            "n_train": len(splits.train),
            "n_val": len(splits.val),
            "n_test": len(splits.test),
            "ranges": splits.ranges,
        },
    }
