"""Spatial transformers (Jaderberg et al., 2015): an affine grid, a bilinear sampler, the module.

A spatial transformer *looks at a region* of its input: a small network predicts a transform
``theta``, a **grid generator** maps each output pixel to a point of the input, and a
**sampler** reads the input there with bilinear interpolation. Both steps are differentiable, in
the input and in ``theta``, so the network learns where to look from the task's loss alone.

Coordinates are normalised as in ``F.affine_grid`` / ``F.grid_sample``: ``x`` runs along the
width, ``y`` along the height, both in ``[-1, 1]``. With ``align_corners=True`` -1 and 1 are the
*centres* of the corner pixels; with ``False`` (torch's default) they are the outer *edges* of
the corner pixels. ``affine_grid`` and ``bilinear_sample`` are written from scratch and equal
torch's built-ins (tested, gradients too); the module can use either.

Shapes: images (batch, C, H, W); ``theta`` (batch, 2, 3); grids (batch, H_out, W_out, 2)
holding (x, y) per output pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .shapes import expect_match, expect_shape, expect_tensor


def _check_size(size: object) -> tuple[int, int, int, int]:
    if not (isinstance(size, (tuple, list, torch.Size)) and len(size) == 4):
        raise ValueError(f"size: expected (batch, C, H_out, W_out), got {size!r}")
    if not all(isinstance(s, int) and s >= 1 for s in size):
        raise ValueError(
            f"size: every entry of (batch, C, H_out, W_out) must be >= 1, got {size!r}"
        )
    return tuple(size)  # type: ignore[return-value]


def normalized_coords(
    n: int, align_corners: bool, dtype: torch.dtype = torch.float32, device=None
) -> torch.Tensor:
    """The ``n`` pixel centres along one axis in normalised coordinates -> (n,).

    ``align_corners=True``: -1 and 1 are the first and last centres; ``False``: the centres of
    ``n`` equal cells that tile [-1, 1], i.e. ``(2 i + 1) / n - 1``.
    """
    if n == 1:
        return torch.zeros(1, dtype=dtype, device=device)  # one pixel: at the centre either way
    steps = torch.arange(n, dtype=dtype, device=device)  # (n,)
    if align_corners:
        return steps * (2 / (n - 1)) - 1  # (n,)
    return (2 * steps + 1) / n - 1  # (n,)


def affine_grid(
    theta: torch.Tensor, size: tuple[int, int, int, int], align_corners: bool = False
) -> torch.Tensor:
    """Sampling grid of the affine maps ``theta``: output pixel (x, y) reads ``theta @ [x, y, 1]``.

    ``theta``: (batch, 2, 3); ``size``: (batch, C, H_out, W_out) -> grid (batch, H_out, W_out, 2).
    Equal to ``F.affine_grid(theta, size, align_corners)``.
    """
    sizes = expect_shape(theta, "batch, 2, 3", name="theta")
    batch, _, height, width = _check_size(size)
    expect_match("theta batch and size[0]", {"theta.batch": sizes["batch"], "size[0]": batch})
    xs = normalized_coords(width, align_corners, theta.dtype, theta.device)  # (W_out,)
    ys = normalized_coords(height, align_corners, theta.dtype, theta.device)  # (H_out,)
    base = torch.stack(  # (H_out, W_out, 3): homogeneous (x, y, 1) of every output pixel
        [
            xs[None, :].expand(height, width),
            ys[:, None].expand(height, width),
            torch.ones(height, width, dtype=theta.dtype, device=theta.device),
        ],
        dim=-1,
    )
    grid = base.reshape(1, height * width, 3) @ theta.transpose(1, 2)  # (batch, H_out*W_out, 2)
    return grid.reshape(batch, height, width, 2)


def _pixel_coords(coord: torch.Tensor, n: int, align_corners: bool) -> torch.Tensor:
    """Normalised coordinate -> pixel index units (0 = centre of the first pixel)."""
    if align_corners:
        return (coord + 1) * (n - 1) / 2
    return ((coord + 1) * n - 1) / 2


def bilinear_sample(
    image: torch.Tensor, grid: torch.Tensor, align_corners: bool = False
) -> torch.Tensor:
    """Read ``image`` at the points of ``grid`` with bilinear interpolation, zeros outside.

    ``image``: (batch, C, H, W); ``grid``: (batch, H_out, W_out, 2) of (x, y) in [-1, 1]
    -> (batch, C, H_out, W_out). Equal to ``F.grid_sample(image, grid, "bilinear", "zeros",
    align_corners)``, gradients included.
    """
    isz = expect_shape(image, "batch, C, H, W", name="image")
    gsz = expect_shape(grid, "batch, H_out, W_out, 2", name="grid")
    expect_match(
        "image and grid batch sizes", {"image.batch": isz["batch"], "grid.batch": gsz["batch"]}
    )
    batch, channels, height, width = image.shape
    ix = _pixel_coords(grid[..., 0], width, align_corners)  # (batch, H_out, W_out)
    iy = _pixel_coords(grid[..., 1], height, align_corners)  # (batch, H_out, W_out)
    x0, y0 = ix.floor(), iy.floor()  # top-left neighbour, (batch, H_out, W_out)
    wx1, wy1 = ix - x0, iy - y0  # weights of the right / bottom neighbours (carry the gradient)
    flat = image.reshape(batch, channels, height * width)  # (batch, C, H*W)
    out = image.new_zeros(batch, channels, gsz["H_out"] * gsz["W_out"])  # (batch, C, H_out*W_out)
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        xn, yn = x0 + dx, y0 + dy  # this neighbour's pixel indices
        weight = (wx1 if dx else 1 - wx1) * (wy1 if dy else 1 - wy1)  # (batch, H_out, W_out)
        inside = (xn >= 0) & (xn <= width - 1) & (yn >= 0) & (yn <= height - 1)
        index = (yn.clamp(0, height - 1) * width + xn.clamp(0, width - 1)).long()  # (b, Ho, Wo)
        index = index.reshape(batch, 1, -1).expand(-1, channels, -1)  # (batch, C, H_out*W_out)
        values = flat.gather(2, index)  # (batch, C, H_out*W_out)
        weight = (weight * inside).reshape(batch, 1, -1)  # (batch, 1, H_out*W_out); 0 outside
        out = out + weight * values
    return out.reshape(batch, channels, gsz["H_out"], gsz["W_out"])


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


@dataclass(frozen=True)
class LocalizerConfig:
    """The localisation network of a spatial transformer: 2 conv layers, then an MLP -> theta.

    It looks at a coarse copy of the input (three 2x2 max-pools in all): it must find *where*
    the digit is and how it is turned, not read it.

    ``in_size``: input side (pixels); ``out_size``: side of the transformer's output.
    """

    in_size: int = 28
    out_size: int = 28
    channels: tuple[int, int] = (8, 16)
    hidden: int = 32

    def __post_init__(self) -> None:
        for name in ("in_size", "out_size", "hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")


class SpatialTransformer(nn.Module):
    """Localisation net -> ``theta`` -> grid -> bilinear sampler. Starts as the identity.

    ``forward(x)``: (batch, 1, in_size, in_size) -> (batch, 1, out_size, out_size); the last
    ``theta`` (batch, 2, 3) is kept in ``self.last_theta`` for plotting. ``from_scratch=True``
    uses this module's ``affine_grid`` / ``bilinear_sample`` instead of torch's (same result,
    slower).
    """

    def __init__(self, config: LocalizerConfig = LocalizerConfig(), from_scratch: bool = False):
        super().__init__()
        self.config = config
        self.from_scratch = from_scratch
        c1, c2 = config.channels
        pooled = math.ceil(config.in_size / 8)  # three 2x2 max-pools (ceil mode)
        self.features = nn.Sequential(
            nn.MaxPool2d(2, ceil_mode=True),  # look at a coarse image: where, not what
            nn.Conv2d(1, c1, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * pooled**2, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, 6),
        )
        nn.init.zeros_(self.head[-1].weight)  # start at the identity transform
        with torch.no_grad():
            self.head[-1].bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        self.last_theta: torch.Tensor | None = None

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 1, in_size, in_size) -> theta (batch, 2, 3)."""
        return self.head(self.features(x)).reshape(-1, 2, 3)  # (batch, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(x, "batch, 1, H, W", name="x")
        if sizes["H"] != self.config.in_size or sizes["W"] != self.config.in_size:
            raise ValueError(
                f"x: expected H = W = in_size = {self.config.in_size}, got shape {tuple(x.shape)}"
            )
        theta = self.theta(x)  # (batch, 2, 3)
        self.last_theta = theta.detach()
        size = (sizes["batch"], 1, self.config.out_size, self.config.out_size)
        if self.from_scratch:
            return bilinear_sample(x, affine_grid(theta, size))  # (batch, 1, out, out)
        grid = F.affine_grid(theta, size, align_corners=False)  # (batch, out, out, 2)
        return F.grid_sample(x, grid, align_corners=False)  # (batch, 1, out, out)
