"""Lesson 04's trained checkpoints, and the script that makes them.

Lesson 04 trains thirteen models: a spatial-transformer CNN and a CNN with as many parameters
on each of four distorted digit sets (plus a thin-plate-spline ST-CNN for the elastic set), a
captioner, a DETR-lite and a ViT-lite with a CNN beside it. Honest training takes hours of CPU
time, far more than a lesson's budget,
so the lesson loads the small checkpoints in ``weights/04_*.pt`` by default and can retrain any
of them in place (``RETRAIN = True`` in the notebook). They are produced by this script with
the same library code and :func:`course_lib.train.loops.fit_stages`::

    python -m course_lib.checkpoints 04                # retrain all, overwrite weights/04_*.pt
    python -m course_lib.checkpoints 04 stn_R cnn_R    # only these

Each file holds the ``state_dict`` (float32), the model config, the training recipe, the
per-epoch history (training loss, test metric), the parameter count and the seconds it took.

Data: every model trains on the 4,000 training digits only and is scored on the 1,000 test
digits. Distorted sets and canvases are drawn afresh each epoch from a seeded generator
(the same random distortion is never shown twice), which is cheap data augmentation. The
lesson scores the classifiers on :data:`TEST_DRAWS` distortions of every test digit
(:func:`test_draws`), with standard errors that count a digit's draws together.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checkpoints import store
from course_lib.core.transformer import TransformerConfig
from course_lib.data.canvases import CanvasConfig, canvas_split, make_canvases
from course_lib.data.digits import (
    VARIANT_SIZE,
    VARIANTS,
    Digits,
    digit_split,
    distort,
    distorted_split,
    draw_groups,
)
from course_lib.train.loops import fit_stages
from course_lib.train.utils import count_parameters, seed_everything
from course_lib.vision.captioning import CaptionConfig, Captioner, caption_loss, sequence_accuracy
from course_lib.vision.convnets import (
    ConvNet,
    ConvNetConfig,
    FeatureGridConfig,
    STClassifier,
    error_rate,
    matched_convnet,
)
from course_lib.vision.detection import DetrConfig, DetrLite, evaluate_detector, set_loss
from course_lib.vision.spatial import LocalizerConfig
from course_lib.vision.vit import VitConfig, VitLite

LESSON = "04"
N_TEST_CANVASES = 1000
#: The lesson scores each classifier on this many random distortions of every test digit.
TEST_DRAWS = 10
#: The captioner reads digits from averages of grid cells: wide cells (128 features from 32/64/128
#: channels) and a hidden layer between [state, context] and the token ("deep output") help.
CAPTION_CONFIG = CaptionConfig(
    grid=FeatureGridConfig(channels=(32, 64, 128), d_model=128), hidden=128, deep_output=True
)


@dataclass(frozen=True)
class Recipe:
    """Adam in ``stages`` of (epochs, learning rate) (a step schedule: :func:`fit_stages`);
    ``batch_size``; ``per_epoch`` fresh training examples per epoch (canvases only)."""

    stages: tuple[tuple[int, float], ...]
    batch_size: int = 64
    per_epoch: int = 0
    seed: int = 0

    @property
    def epochs(self) -> int:
        return sum(n for n, _ in self.stages)


#: ST-CNNs and their same-size CNNs: 60 epochs, each of freshly distorted training digits (the
#: test error of both flattens after each learning-rate drop; 30 epochs left both short of it).
CLASSIFIER_RECIPE = Recipe(((40, 1e-3), (12, 3e-4), (8, 1e-4)))


@dataclass(frozen=True)
class Spec:
    """What checkpoint is: its model ``kind`` (``"stn"``, ``"cnn"``, ``"captioner"``,
    ``"detr"``, ``"vit"``), the distortion ``variant`` its digits get (``None``: clean digits,
    shifted by up to 2 pixels, or canvases), the spatial ``transform`` and its ``recipe``."""

    kind: str
    recipe: Recipe
    variant: str | None = None
    transform: str = "affine"

    @property
    def data(self) -> str:
        """``"distorted"``, ``"digits"`` (clean, shifted) or ``"canvases"``."""
        if self.variant is not None:
            return "distorted"
        return "canvases" if self.kind in ("captioner", "detr") else "digits"


SPECS: dict[str, Spec] = {
    **{
        f"{kind}_{v}": Spec(kind, CLASSIFIER_RECIPE, variant=v)
        for v in VARIANTS
        for kind in ("stn", "cnn")
    },
    # a thin-plate-spline transformer for the elastic digits, as in the paper
    "stn_tps_E": Spec("stn", CLASSIFIER_RECIPE, variant="E", transform="tps"),
    "captioner": Spec("captioner", Recipe(((30, 2e-3), (8, 5e-4), (4, 1.5e-4)), per_epoch=8000)),
    "detr": Spec("detr", Recipe(((28, 1e-3), (8, 3e-4)), per_epoch=8000)),
    "vit": Spec("vit", Recipe(((24, 1e-3), (6, 3e-4)))),
    "cnn_clean": Spec("cnn", Recipe(((24, 1e-3), (6, 3e-4)))),  # the ViT's CNN of equal size
}
NAMES = tuple(SPECS)


# ------------------------------------------------------------------------ models and configs


def _config(spec: Spec) -> dict:
    """The config dict of a fresh model for a checkpoint of ``spec``."""
    if spec.kind == "stn":
        localizer = LocalizerConfig(VARIANT_SIZE[spec.variant], 28, transform=spec.transform)
        return {
            "localizer": dataclasses.asdict(localizer),
            "classifier": dataclasses.asdict(ConvNetConfig()),
        }
    if spec.kind == "cnn" and spec.variant is not None:  # as many parameters as its ST-CNN
        return dataclasses.asdict(matched_convnet(count_parameters(build(f"stn_{spec.variant}"))))
    default = {
        "cnn": ConvNetConfig(),
        "captioner": CAPTION_CONFIG,
        "detr": DetrConfig(),
        "vit": VitConfig(),
    }
    return dataclasses.asdict(default[spec.kind])


def build(name: str, saved: dict | None = None) -> nn.Module:
    """A fresh (untrained) model for checkpoint ``name``; ``saved`` (a read checkpoint)
    rebuilds it with the saved config."""
    spec = SPECS[store.check_name(name, NAMES)]
    c = dict(saved["config"]) if saved is not None else _config(spec)
    if spec.kind == "stn":
        return STClassifier(LocalizerConfig(**c["localizer"]), ConvNetConfig(**c["classifier"]))
    if spec.kind == "cnn":
        return ConvNet(ConvNetConfig(**c))
    if spec.kind == "captioner":
        return Captioner(CaptionConfig(**{**c, "grid": FeatureGridConfig(**c["grid"])}))
    if spec.kind == "detr":
        grid, block = FeatureGridConfig(**c["grid"]), TransformerConfig(**c["block"])
        return DetrLite(DetrConfig(**{**c, "grid": grid, "block": block}))
    return VitLite(VitConfig(**{**c, "block": TransformerConfig(**c["block"])}))


def model_config(model: nn.Module) -> dict:
    """The config dict that :func:`build` rebuilds ``model`` from."""
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


def epoch_batches(spec: Spec) -> Callable[[int], list[tuple]]:
    """``batches(epoch)`` for :func:`fit_stages`: fresh seeded training examples each epoch."""
    recipe = spec.recipe
    digits = digit_split("train", recipe.seed)

    def batches(epoch: int) -> list[tuple]:
        seed = 10_000 * (recipe.seed + 1) + epoch + 1  # epochs 0, 1, ... draw from seeds 1, 2, ...
        if spec.data == "distorted":
            data = Digits(distort(digits.images, spec.variant, seed=seed), digits.labels)
            return data.batches(recipe.batch_size, shuffle=True, seed=seed)
        if spec.data == "digits":
            gen = torch.Generator().manual_seed(seed)
            return [
                (_shifted(x, gen), y)
                for x, y in digits.batches(recipe.batch_size, shuffle=True, seed=seed)
            ]
        canvases = make_canvases(digits, recipe.per_epoch, CanvasConfig(), seed=seed)
        order = torch.randperm(len(canvases), generator=torch.Generator().manual_seed(seed))
        fields = (canvases.images[:, None], canvases.labels)
        if spec.kind == "detr":
            fields += (canvases.boxes,)
        return [tuple(f[i] for f in fields) for i in order.split(recipe.batch_size)]

    return batches


def test_metric(name: str, seed: int = 0) -> Callable[[nn.Module], float]:
    """The test-set number shown per epoch: error (classifiers on distorted digits), accuracy
    (the ViT and its CNN), sequence accuracy (captioner), mean IoU (DETR-lite)."""
    spec = SPECS[store.check_name(name, NAMES)]
    if spec.data == "digits":
        test = digit_split("test", seed)
        return lambda model: 1 - error_rate(model, test.images, test.labels)
    if spec.data == "distorted":
        test = distorted_split("test", spec.variant, seed=seed)
        return lambda model: error_rate(model, test.images, test.labels)
    canvases = canvas_split("test", N_TEST_CANVASES, seed=seed)
    if spec.kind == "captioner":
        return lambda model: sequence_accuracy(
            model.generate(canvases.images[:, None])[0], canvases.labels
        )
    return lambda model: evaluate_detector(model, canvases).mean_iou


def test_draws(variant: str, draws: int = TEST_DRAWS, seed: int = 0) -> tuple[Digits, torch.Tensor]:
    """The test digits, each distorted ``draws`` ways by ``variant``: images (draws * 1000, S, S)
    and labels, and which test digit each image is, (draws * 1000,) int64 — the ``groups`` of
    :func:`course_lib.train.stats.paired`. Training never sees these digits."""
    data = distorted_split("test", variant, copies=draws, seed=seed)
    return data, draw_groups(len(data) // draws, draws)


def train(name: str) -> tuple[nn.Module, dict]:
    """Train checkpoint ``name`` from scratch with its recipe; returns the model and its record."""
    spec = SPECS[store.check_name(name, NAMES)]
    recipe = spec.recipe
    seed_everything(recipe.seed)
    model = build(name)
    loss_fn = {"captioner": caption_loss, "detr": set_loss}.get(spec.kind, _classification_loss)
    start = time.monotonic()
    history = fit_stages(
        model,
        loss_fn,
        epoch_batches(spec),
        recipe.stages,
        seed=recipe.seed,
        evaluate=test_metric(name, recipe.seed),
        desc=name,
    )
    info = store.make_record(
        model,
        time.monotonic() - start,
        name=name,
        config=model_config(model),
        recipe=recipe,
        history=history,
    )
    return model.eval(), info


def load(name: str, retrain: bool = False) -> tuple[nn.Module, dict]:
    """Model ``name`` in eval mode and its record: from ``weights/04_<name>.pt``, or trained
    now if ``retrain``. ``record["source"]`` is ``"checkpoint"`` or ``"trained now"``."""
    return store.load(LESSON, NAMES, name, build, train, retrain)
