"""The glimpse sensor of the recurrent attention model (Mnih et al., 2014): what a model sees
when it looks at one location of an image.

A **glimpse** is a multi-resolution *retina* of ``scales`` square patches centred on the
location, the k-th ``ratio**k`` times wider than the first, each averaged down to ``patch`` x
``patch`` pixels. Sharp in the centre, blurry around: the model sees a little in detail and a
lot coarsely, like a fovea. Lesson 05's models (:mod:`course_lib.hard.glimpse`,
:mod:`course_lib.hard.ram`) read images through it and its pictures
(:mod:`course_lib.viz.glimpse_plots`) draw it.

Locations are normalised (x, y) in [-1, 1] as in ``F.affine_grid`` with ``align_corners=False``:
x runs along the width, (-1, -1) is the top-left corner of the image, (1, 1) the bottom-right
one, (0, 0) its centre. Outside the image the retina sees zeros (black).

- :func:`extract_patch`: an integer crop with zero padding (what one retina scale is when the
  location falls on a pixel corner);
- :func:`retina`: all scales at any real-valued location, batched: scale k is a bilinear read of
  the image averaged over ``ratio**k`` blocks (:func:`image_pyramid`, computed once per image);
- :func:`glimpse_boxes`: the pixel boxes the scales cover, for plotting.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape


@dataclass(frozen=True)
class RetinaConfig:
    """``scales`` patches of ``patch`` x ``patch`` px; scale k covers ``patch * ratio**k`` px."""

    patch: int = 12
    scales: int = 3
    ratio: int = 2

    def __post_init__(self) -> None:
        for name in ("patch", "scales", "ratio"):
            expect_positive_int(getattr(self, name), name)

    def side(self, k: int) -> int:
        """Side in image pixels of the region scale ``k`` covers."""
        return self.patch * self.ratio**k

    @property
    def size(self) -> int:
        """Numbers in one glimpse: scales * patch * patch."""
        return self.scales * self.patch**2


def pixel_to_normalized(xy: torch.Tensor, size: int) -> torch.Tensor:
    """Pixel coordinates (..., 2) on a ``size`` x ``size`` image -> normalised [-1, 1] (..., 2)."""
    return xy / size * 2 - 1


def normalized_to_pixel(loc: torch.Tensor, size: int) -> torch.Tensor:
    """Normalised locations (..., 2) -> pixel coordinates (..., 2) (0 = left/top edge)."""
    return (loc + 1) / 2 * size


def extract_patch(images: torch.Tensor, corners: torch.Tensor, side: int) -> torch.Tensor:
    """Crop a ``side`` x ``side`` patch from each image, zeros where it leaves the image.

    images: (batch, H, W); corners: (batch, 2) int64 pixel (x, y) of the patch's top-left
    corner (may be negative or beyond the image) -> (batch, side, side).
    """
    sizes = expect_shape(images, "batch, H, W", name="images")
    expect_shape(corners, "batch, 2", name="corners")
    expect_match("batch sizes", {"images": sizes["batch"], "corners": len(corners)})
    expect_positive_int(side, "side")
    if corners.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"corners: expected an integer tensor, got {corners.dtype}")
    padded = F.pad(images, (side, side, side, side))  # (batch, H + 2 side, W + 2 side)
    # the padding shifts every pixel by `side`; clamp so a patch far outside still reads zeros
    x0 = (corners[:, 0] + side).clamp(0, sizes["W"] + side)  # (batch,)
    y0 = (corners[:, 1] + side).clamp(0, sizes["H"] + side)  # (batch,)
    steps = torch.arange(side)  # (side,)
    rows = (y0[:, None] + steps)[:, :, None]  # (batch, side, 1)
    cols = (x0[:, None] + steps)[:, None, :]  # (batch, 1, side)
    return padded[torch.arange(sizes["batch"])[:, None, None], rows, cols]  # (batch, side, side)


def _check_images(images: torch.Tensor) -> torch.Tensor:
    if images.dim() == 3:
        images = images[:, None]  # (batch, 1, H, W)
    sizes = expect_shape(images, "batch, 1, H, W", name="images")
    if sizes["H"] != sizes["W"]:
        raise ValueError(f"images: expected square images, got shape {tuple(images.shape)}")
    return images


def image_pyramid(
    images: torch.Tensor, config: RetinaConfig = RetinaConfig()
) -> list[torch.Tensor]:
    """The image averaged over ``ratio**k`` x ``ratio**k`` blocks, for each scale k.

    images: (batch, 1, S, S) or (batch, S, S) -> [(batch, 1, S / ratio**k, S / ratio**k)].
    Compute it once per image and pass it to :func:`retina` for every glimpse.
    """
    images = _check_images(images)
    size = images.shape[-1]
    top = config.ratio ** (config.scales - 1)
    if size % top:
        raise ValueError(
            f"images: the side S = {size} must be divisible by ratio**(scales-1) = {top}"
        )
    return [
        images if k == 0 else F.avg_pool2d(images, config.ratio**k) for k in range(config.scales)
    ]


def retina(
    images: torch.Tensor,
    locations: torch.Tensor,
    config: RetinaConfig = RetinaConfig(),
    pyramid: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """The glimpse of each image at its location -> (batch, scales, patch, patch).

    images: (batch, 1, S, S) or (batch, S, S); locations: (batch, 2) normalised (x, y).
    Scale k covers the ``patch * ratio**k`` px square centred on the location: it reads
    ``patch`` x ``patch`` points of the image averaged over ``ratio**k`` blocks (see
    :func:`image_pyramid`), bilinearly, zeros outside. When the square's corner falls on the
    block grid this equals :func:`extract_patch` followed by ``F.avg_pool2d(ratio**k)``.
    """
    images = _check_images(images)
    batch, _, size, _ = images.shape
    expect_shape(locations, "batch, 2", name="locations")
    expect_match("batch sizes", {"images": batch, "locations": len(locations)})
    levels = image_pyramid(images, config) if pyramid is None else pyramid
    offsets = torch.arange(config.patch, dtype=images.dtype) + 0.5 - config.patch / 2  # (p,)
    out = []
    for level in levels:
        n = level.shape[-1]  # side of this level: S / ratio**k
        centre = normalized_to_pixel(locations.to(images.dtype), n)  # (batch, 2) level px
        xs = pixel_to_normalized(centre[:, 0, None] + offsets, n)  # (batch, p) normalised
        ys = pixel_to_normalized(centre[:, 1, None] + offsets, n)  # (batch, p)
        grid = torch.stack(torch.broadcast_tensors(xs[:, None, :], ys[:, :, None]), dim=-1)
        out.append(
            F.grid_sample(level, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[
                :, 0
            ]
        )  # (batch, p, p)
    return torch.stack(out, dim=1)  # (batch, scales, patch, patch)


def glimpse_boxes(locations: torch.Tensor, size: int, config: RetinaConfig = RetinaConfig()):
    """Pixel boxes (x0, y0, x1, y1) of every retina scale -> (..., scales, 4), for plotting."""
    centre = normalized_to_pixel(locations, size)  # (..., 2)
    half = torch.tensor([config.side(k) / 2 for k in range(config.scales)])  # (scales,)
    lo = centre[..., None, :] - half[:, None]  # (..., scales, 2)
    hi = centre[..., None, :] + half[:, None]  # (..., scales, 2)
    return torch.cat([lo, hi], dim=-1)  # (..., scales, 4)
