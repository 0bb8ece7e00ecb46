"""Small convolutional networks for lesson 04: a digit classifier, the same classifier behind a
spatial transformer (ST-CNN), and a backbone that turns an image into a grid of features.

- :class:`ConvNet`: conv-pool-conv-pool, a fixed 4x4 max-pool, an MLP -> 10 logits; its
  parameter count does not depend on the input size, so one config fits 28x28 and 40x40.
- :class:`STClassifier`: a :class:`~course_lib.vision.spatial.SpatialTransformer` in front of a
  :class:`ConvNet`; :func:`matched_convnet` sizes a plain CNN to the same parameter count.
- :class:`FeatureGrid`: image (batch, 1, S, S) -> features (batch, d, S/8, S/8) plus a learned
  position embedding, the "regions" that captioning and DETR-lite attend over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.shapes import expect_positive_int, expect_shape
from course_lib.train.utils import count_parameters
from course_lib.vision.spatial import LocalizerConfig, SpatialTransformer


@dataclass(frozen=True)
class ConvNetConfig:
    """Two 5x5 conv layers (``channels``), 2x2 max-pools, a 4x4 max-pool, ``hidden`` units."""

    channels: tuple[int, int] = (16, 32)
    hidden: int = 64
    classes: int = 10

    def __post_init__(self) -> None:
        for name in ("hidden", "classes"):
            expect_positive_int(getattr(self, name), name)
        if len(self.channels) != 2 or min(self.channels) < 1:
            raise ValueError(f"channels: expected two positive ints, got {self.channels!r}")


class ConvNet(nn.Module):
    """(batch, 1, H, W) with H, W >= 16 -> logits (batch, classes)."""

    def __init__(self, config: ConvNetConfig = ConvNetConfig()) -> None:
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (b, c1, H/2, W/2)
            nn.Conv2d(c1, c2, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (b, c2, H/4, W/4)
            nn.AdaptiveMaxPool2d(4),  # (b, c2, 4, 4) whatever the input size
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * c2, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(x, "batch, 1, H, W", name="x")
        if min(sizes["H"], sizes["W"]) < 16:
            raise ValueError(f"x: H and W must be >= 16, got shape {tuple(x.shape)}")
        return self.head(self.features(x))  # (batch, classes)


class STClassifier(nn.Module):
    """Spatial transformer (``in_size`` -> ``out_size``) followed by a :class:`ConvNet`.

    ``forward(x)``: (batch, 1, in_size, in_size) -> logits (batch, 10);
    ``transform(x)``: the transformer's output (batch, 1, out_size, out_size).
    """

    def __init__(
        self,
        localizer: LocalizerConfig | None = None,
        classifier: ConvNetConfig = ConvNetConfig(),
    ) -> None:
        super().__init__()
        self.stn = SpatialTransformer(localizer or LocalizerConfig())
        self.classifier = ConvNet(classifier)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        return self.stn(x)  # (batch, 1, out_size, out_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.stn(x))  # (batch, classes)


def matched_convnet(target: int, base: ConvNetConfig = ConvNetConfig()) -> ConvNetConfig:
    """The :class:`ConvNet` config, widened or narrowed, whose parameter count is closest to
    ``target`` (channels ``(c, 2c)``, hidden scaled by the same factor)."""
    expect_positive_int(target, "target")
    c1, _ = base.channels

    def config(c: int) -> ConvNetConfig:
        return replace(base, channels=(c, 2 * c), hidden=max(8, round(base.hidden * c / c1)))

    return min(
        (config(c) for c in range(2, 129)),
        key=lambda cfg: abs(count_parameters(ConvNet(cfg)) - target),
    )


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Class predictions (n,) of ``model`` for ``images`` (n, H, W) in eval mode."""
    expect_shape(images, "n, H, W", name="images")
    model.eval()
    return torch.cat(
        [
            model(chunk[:, None]).argmax(-1)  # (chunk,)
            for chunk in images.split(batch_size)
        ]
    )


def mistakes(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Which of ``images`` (n, H, W) ``model`` misclassifies: (n,) bool, for paired tests."""
    return predict(model, images) != labels


def error_rate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` (n, H, W) that ``model`` misclassifies."""
    return mistakes(model, images, labels).float().mean().item()


@dataclass(frozen=True)
class FeatureGridConfig:
    """Backbone: ``image_size`` -> a grid of side image_size / 8 with ``d_model`` features."""

    image_size: int = 64
    channels: tuple[int, int, int] = (16, 32, 64)
    d_model: int = 64

    def __post_init__(self) -> None:
        for name in ("image_size", "d_model"):
            expect_positive_int(getattr(self, name), name)
        if self.image_size % 8:
            raise ValueError(f"image_size: expected a multiple of 8, got {self.image_size}")

    @property
    def grid(self) -> int:
        return self.image_size // 8


class FeatureGrid(nn.Module):
    """Image (batch, 1, S, S) -> features (batch, d_model, S/8, S/8) and their position
    embedding (d_model, S/8, S/8). Three stride-2 convs (4x4, 4x4, 5x5) and a 1x1 conv: each
    cell sees 26x26 px around its centre, about one digit, so a map of attention over cells is
    a map over digits."""

    def __init__(self, config: FeatureGridConfig = FeatureGridConfig()) -> None:
        super().__init__()
        self.config = config
        c1, c2, c3 = config.channels
        self.conv = nn.Sequential(  # strided 4x4 convs: 3x cheaper than conv + max-pool on CPU
            nn.Conv2d(1, c1, 4, stride=2, padding=1),
            nn.ReLU(),  # (b, c1, S/2, S/2)
            nn.Conv2d(c1, c2, 4, stride=2, padding=1),
            nn.ReLU(),  # (b, c2, S/4, S/4)
            nn.Conv2d(c2, c3, 5, stride=2, padding=2),
            nn.ReLU(),  # (b, c3, S/8, S/8)
            nn.Conv2d(c3, config.d_model, 1),
            nn.ReLU(),  # (b, d, S/8, S/8)
        )
        g = config.grid
        self.pos = nn.Parameter(0.1 * torch.randn(config.d_model, g, g))  # (d, G, G)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(batch, 1, S, S) -> (batch, d_model, G, G), G = S / 8 (without the positions)."""
        sizes = expect_shape(images, "batch, 1, H, W", name="images")
        if sizes["H"] != self.config.image_size or sizes["W"] != self.config.image_size:
            raise ValueError(
                f"images: expected H = W = image_size = {self.config.image_size}, "
                f"got shape {tuple(images.shape)}"
            )
        return self.conv(images)  # (batch, d, G, G)


def grid_to_tokens(grid: torch.Tensor) -> torch.Tensor:
    """(batch, d, G_h, G_w) -> (batch, G_h * G_w, d), cells in row-major order."""
    expect_shape(grid, "batch, d, G_h, G_w", name="grid")
    return grid.flatten(2).transpose(1, 2)  # (batch, G_h*G_w, d)


def upsample_map(weights: torch.Tensor, size: int) -> torch.Tensor:
    """Attention over a grid (..., G, G) -> (..., size, size), bilinear, for overlaying and
    for finding the peak in pixels."""
    lead = weights.shape[:-2]
    flat = weights.reshape(-1, 1, *weights.shape[-2:])  # (n, 1, G, G)
    up = F.interpolate(flat, size=(size, size), mode="bilinear", align_corners=False)
    return up.reshape(*lead, size, size)
