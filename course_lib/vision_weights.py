"""Lesson 04's trained checkpoints, and the script that makes them.

Lesson 04 trains thirteen models: a spatial-transformer CNN and a CNN with as many parameters
on each of four distorted digit sets (plus a thin-plate-spline ST-CNN for the elastic set), a
captioner, a DETR-lite and a ViT-lite with a CNN beside it. Honest training takes hours of CPU
time, far more than a lesson's budget,
so the lesson loads the small checkpoints in ``weights/04_*.pt`` by default and can retrain any
of them in place (``RETRAIN = True`` in the notebook). They are produced by this script with
the same library code and :func:`course_lib.training.fit`::

    python -m course_lib.vision_weights                 # retrain all, overwrite weights/04_*.pt
    python -m course_lib.vision_weights stn_R cnn_R     # only these

Each file holds the ``state_dict`` (float32), the model config, the training recipe, the
per-epoch history (training loss, test metric), the parameter count and the seconds it took.

Data: every model trains on the 4,000 training digits only and is scored on the 1,000 test
digits. Distorted sets and canvases are drawn afresh each epoch from a seeded generator
(the same random distortion is never shown twice), which is cheap data augmentation.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import checkpoints
from .captioning import CaptionConfig, Captioner, caption_loss, sequence_accuracy
from .detection import DetrConfig, DetrLite, evaluate_detector, set_loss
from .digits import (
    VARIANT_SIZE,
    VARIANTS,
    CanvasConfig,
    Digits,
    canvas_split,
    digit_split,
    distort,
    distorted_split,
    make_canvases,
)
from .spatial import LocalizerConfig
from .training import History, fit, seed_everything
from .transformer import TransformerConfig
from .vision import (
    ConvNet,
    ConvNetConfig,
    FeatureGridConfig,
    STClassifier,
    count_parameters,
    error_rate,
    matched_convnet,
)
from .vit import VitConfig, VitLite

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
NAMES = tuple(f"{kind}_{v}" for v in VARIANTS for kind in ("stn", "cnn")) + (
    "stn_tps_E",  # a thin-plate-spline transformer for the elastic digits, as in the paper
    "captioner",
    "detr",
    "vit",
    "cnn_clean",
)
N_TEST_CANVASES = 1000
#: The captioner reads digits from averages of grid cells: wide cells (128 features from 32/64/128
#: channels) and a hidden layer between [state, context] and the token ("deep output") help.
CAPTION_CONFIG = CaptionConfig(
    grid=FeatureGridConfig(channels=(32, 64, 128), d_model=128), hidden=128, deep_output=True
)


@dataclass(frozen=True)
class Recipe:
    """Adam in ``phases`` of (epochs, learning rate) (a step schedule: one :func:`fit` call per
    phase); ``batch_size``; ``per_epoch`` fresh training examples per epoch (canvases only)."""

    phases: tuple[tuple[int, float], ...]
    batch_size: int = 64
    per_epoch: int = 0
    seed: int = 0

    @property
    def epochs(self) -> int:
        return sum(n for n, _ in self.phases)


RECIPES = {
    "stn": Recipe(((20, 1e-3), (6, 3e-4), (4, 1e-4))),
    "cnn": Recipe(((20, 1e-3), (6, 3e-4), (4, 1e-4))),
    "captioner": Recipe(((30, 2e-3), (8, 5e-4), (4, 1.5e-4)), per_epoch=8000),
    "detr": Recipe(((28, 1e-3), (8, 3e-4)), per_epoch=8000),
    "vit": Recipe(((24, 1e-3), (6, 3e-4))),
    "cnn_clean": Recipe(((24, 1e-3), (6, 3e-4))),
}


def checkpoint_path(name: str) -> Path:
    if name not in NAMES:
        raise ValueError(f"name: expected one of {NAMES}, got {name!r}")
    return WEIGHTS_DIR / f"04_{name}.pt"


# ------------------------------------------------------------------------ models and configs


def build_model(name: str, config: dict | None = None) -> nn.Module:
    """A fresh (untrained) model for checkpoint ``name``; ``config`` (a saved config dict)
    rebuilds a saved one."""
    kind = name.split("_")[0] if name != "cnn_clean" else "cnn_clean"
    if kind == "stn":
        variant, transform = name.split("_")[-1], "tps" if "_tps_" in name else "affine"
        if config is None:
            localizer = LocalizerConfig(VARIANT_SIZE[variant], 28, transform=transform)
            config = {
                "localizer": dataclasses.asdict(localizer),
                "classifier": dataclasses.asdict(ConvNetConfig()),
            }
        return STClassifier(
            LocalizerConfig(**config["localizer"]), ConvNetConfig(**config["classifier"])
        )
    if kind == "cnn":  # as many parameters as the ST-CNN of the same variant
        if config is None:
            target = count_parameters(build_model(name.replace("cnn", "stn")))
            config = dataclasses.asdict(matched_convnet(target))
        return ConvNet(ConvNetConfig(**config))
    if kind == "cnn_clean":
        return ConvNet(ConvNetConfig(**(config or dataclasses.asdict(ConvNetConfig()))))
    if kind == "captioner":
        c = dict(config or dataclasses.asdict(CAPTION_CONFIG))
        return Captioner(CaptionConfig(**{**c, "grid": FeatureGridConfig(**c["grid"])}))
    if kind == "detr":
        c = dict(config or dataclasses.asdict(DetrConfig()))
        return DetrLite(
            DetrConfig(
                **{
                    **c,
                    "grid": FeatureGridConfig(**c["grid"]),
                    "block": TransformerConfig(**c["block"]),
                }
            )
        )
    if kind == "vit":
        c = dict(config or dataclasses.asdict(VitConfig()))
        return VitLite(VitConfig(**{**c, "block": TransformerConfig(**c["block"])}))
    raise ValueError(f"name: expected one of {NAMES}, got {name!r}")


def model_config(model: nn.Module) -> dict:
    """The config dict that :func:`build_model` rebuilds ``model`` from."""
    if isinstance(model, STClassifier):
        return {
            "localizer": dataclasses.asdict(model.stn.config),
            "classifier": dataclasses.asdict(model.classifier.config),
        }
    return dataclasses.asdict(model.config)


# ------------------------------------------------------------------------------ training


def _classification_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor):
    return F.cross_entropy(model(images), labels)


def _shifted(images: torch.Tensor, gen: torch.Generator, most: int = 2) -> torch.Tensor:
    """Move each image (n, 1, H, W) by a random whole number of pixels in [-most, most]."""
    out = torch.empty_like(images)
    shifts = torch.randint(-most, most + 1, (len(images), 2), generator=gen).tolist()
    for i, (dy, dx) in enumerate(shifts):
        out[i] = torch.roll(images[i], (dy, dx), dims=(-2, -1))
    return out


def _epoch_source(name: str, recipe: Recipe) -> Callable[[], list[tuple]]:
    """``batches()`` for :func:`fit`: fresh seeded training examples each epoch."""
    digits = digit_split("train", recipe.seed)
    epoch = [0]

    def batches() -> list[tuple]:
        epoch[0] += 1
        seed = 10_000 * (recipe.seed + 1) + epoch[0]
        if name.startswith(("stn_", "cnn_")) and name != "cnn_clean":
            variant = name.split("_")[-1]
            data = Digits(distort(digits.images, variant, seed=seed), digits.labels)
            return data.batches(recipe.batch_size, shuffle=True, seed=seed)
        if name in ("vit", "cnn_clean"):
            gen = torch.Generator().manual_seed(seed)
            return [
                (_shifted(x, gen), y)
                for x, y in digits.batches(recipe.batch_size, shuffle=True, seed=seed)
            ]
        canvases = make_canvases(digits, recipe.per_epoch, CanvasConfig(), seed=seed)
        order = torch.randperm(len(canvases), generator=torch.Generator().manual_seed(seed))
        if name == "captioner":
            return [
                (canvases.images[i, None], canvases.labels[i])
                for i in order.split(recipe.batch_size)
            ]
        return [
            (canvases.images[i, None], canvases.labels[i], canvases.boxes[i])
            for i in order.split(recipe.batch_size)
        ]

    return batches


def test_metric(name: str, seed: int = 0) -> Callable[[nn.Module], float]:
    """The test-set number shown per epoch: error (classifiers; accuracy for the ViT and its
    CNN), sequence accuracy (captioner), mean IoU (DETR-lite)."""
    if name in ("vit", "cnn_clean"):
        test = digit_split("test", seed)
        return lambda model: 1 - error_rate(model, test.images, test.labels)
    if name.startswith(("stn_", "cnn_")):
        test = distorted_split("test", name.split("_")[-1], seed=seed)
        return lambda model: error_rate(model, test.images, test.labels)
    canvases = canvas_split("test", N_TEST_CANVASES, seed=seed)
    if name == "captioner":
        return lambda model: sequence_accuracy(
            model.generate(canvases.images[:, None])[0], canvases.labels
        )
    return lambda model: evaluate_detector(model, canvases).mean_iou


def train(name: str, recipe: Recipe | None = None) -> tuple[nn.Module, dict]:
    """Train checkpoint ``name`` from scratch with its recipe; returns the model and its record."""
    recipe = recipe or RECIPES[name if name in RECIPES else name.split("_")[0]]
    seed_everything(recipe.seed)
    model = build_model(name)
    loss_fn = {"captioner": caption_loss, "detr": set_loss}.get(name, _classification_loss)
    batches, evaluate = _epoch_source(name, recipe), test_metric(name, recipe.seed)
    history = History()
    start = time.monotonic()
    for phase, (epochs, lr) in enumerate(recipe.phases):
        part = fit(
            model,
            loss_fn,
            batches,
            epochs,
            lr=lr,
            seed=recipe.seed + phase,
            evaluate=evaluate,
            desc=f"{name} (lr {lr:g})",
        )
        history.loss += part.loss
        history.metric += part.metric
    info = {
        "name": name,
        "config": model_config(model),
        "recipe": dataclasses.asdict(recipe),
        "history": {"loss": history.loss, "metric": history.metric},
        "parameters": count_parameters(model),
        "seconds": round(time.monotonic() - start, 1),
        "threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
    }
    return model.eval(), info


def load(name: str, retrain: bool = False) -> tuple[nn.Module, dict]:
    """Model ``name`` in eval mode and its record: from ``weights/04_<name>.pt``, or trained
    now if ``retrain``. ``record["source"]`` is ``"checkpoint"`` or ``"trained now"``."""
    path = checkpoint_path(name)
    if retrain:
        model, info = train(name)
        return model, {**info, "source": "trained now"}
    saved = checkpoints.read(path, f"course_lib.vision_weights {name}")
    model = build_model(name, saved["config"])
    model.load_state_dict(saved["state_dict"])
    return model.eval(), {**checkpoints.record(saved), "source": "checkpoint"}


def history_of(info: dict) -> History:
    """The training history in a record as a :class:`~course_lib.training.History`."""
    return History(list(info["history"]["loss"]), list(info["history"]["metric"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrain lesson 04's checkpoints.")
    parser.add_argument("names", nargs="*", help=f"which (default: all): {', '.join(NAMES)}")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"names: unknown {unknown}; choose from {', '.join(NAMES)}")
    torch.set_num_threads(args.threads)
    for name in args.names or NAMES:
        model, info = train(name)
        checkpoints.write(checkpoint_path(name), model, info)
        print(
            f"{name}: {info['parameters']} parameters, {info['seconds']} s, final test metric "
            f"{info['history']['metric'][-1]:.4f} -> {checkpoint_path(name).name}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
