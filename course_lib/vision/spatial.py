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
holding (x, y) per output pixel. A thin-plate-spline grid (:func:`tps_grid`) bends instead of
only turning, scaling and shifting: the paper's answer to elastic distortions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape


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


def control_points(n: int) -> torch.Tensor:
    """An n x n lattice of control points over [-1, 1]^2, row-major (x, y) -> (n * n, 2)."""
    steps = torch.linspace(-1, 1, n)  # (n,)
    ys, xs = torch.meshgrid(steps, steps, indexing="ij")  # (n, n) each
    return torch.stack([xs.flatten(), ys.flatten()], dim=-1)  # (n*n, 2)


def _tps_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """U(r) = r^2 log r^2 between points a (..., N, 2) and b (K, 2) -> (..., N, K); U(0) = 0."""
    r2 = ((a[..., :, None, :] - b) ** 2).sum(-1)  # (..., N, K)
    return r2 * torch.log(r2.clamp(min=1e-12))


def tps_map(control: torch.Tensor, moved: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """The thin-plate spline (Bookstein, 1989) that sends each ``control`` point (K, 2) to the
    matching ``moved`` point (batch, K, 2) with the least bending, applied to ``points`` (N, 2)
    -> (batch, N, 2). Differentiable in ``moved``."""
    ks = expect_shape(control, "K, 2", name="control")
    ms = expect_shape(moved, "batch, K, 2", name="moved")
    expect_shape(points, "N, 2", name="points")
    expect_match("control and moved points", {"control.K": ks["K"], "moved.K": ms["K"]})
    k, dtype = ks["K"], moved.dtype
    control, points = control.to(dtype), points.to(dtype)
    affine = torch.cat([torch.ones(k, 1, dtype=dtype), control], dim=1)  # (K, 3)
    system = torch.zeros(k + 3, k + 3, dtype=dtype)  # [[U, [1 P]], [[1 P]^T, 0]]
    system[:k, :k] = _tps_kernel(control, control)
    system[:k, k:], system[k:, :k] = affine, affine.T
    rhs = torch.cat([moved, moved.new_zeros(ms["batch"], 3, 2)], dim=1)  # (batch, K+3, 2)
    coeffs = torch.linalg.solve(system, rhs)  # (batch, K+3, 2): bending weights, affine part
    ones = torch.ones(len(points), 1, dtype=dtype)
    basis = torch.cat([_tps_kernel(points, control), ones, points], dim=1)  # (N, K+3)
    return basis @ coeffs  # (batch, N, 2)


def tps_grid(
    control: torch.Tensor, moved: torch.Tensor, size: tuple[int, int, int, int]
) -> torch.Tensor:
    """Thin-plate-spline sampling grid: output pixel (x, y) reads ``tps_map(control, moved)``
    of (x, y). ``size``: (batch, C, H_out, W_out) -> (batch, H_out, W_out, 2), pixel centres as
    with ``align_corners=False``; ``moved == control`` gives the identity grid."""
    batch, _, height, width = _check_size(size)
    ms = expect_shape(moved, "batch, K, 2", name="moved")
    expect_match("moved batch and size[0]", {"moved.batch": ms["batch"], "size[0]": batch})
    xs = normalized_coords(width, False, moved.dtype)  # (W_out,)
    ys = normalized_coords(height, False, moved.dtype)  # (H_out,)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")  # (H_out, W_out) each
    points = torch.stack([xx.flatten(), yy.flatten()], dim=-1)  # (N, 2)
    return tps_map(control, moved, points).reshape(batch, height, width, 2)


@dataclass(frozen=True)
class LocalizerConfig:
    """The localisation network of a spatial transformer: 2 conv layers, then an MLP -> theta.

    It looks at a coarse copy of the input (three 2x2 max-pools in all): it must find *where*
    the digit is and how it is turned, not read it.

    ``in_size``: input side (pixels); ``out_size``: side of the transformer's output;
    ``transform``: ``"affine"`` (6 numbers) or ``"tps"`` (a thin-plate spline moving a
    ``control`` x ``control`` lattice of points: 2 * control**2 numbers).
    """

    in_size: int = 28
    out_size: int = 28
    channels: tuple[int, int] = (8, 16)
    hidden: int = 32
    transform: str = "affine"
    control: int = 4

    def __post_init__(self) -> None:
        for name in ("in_size", "out_size", "hidden", "control"):
            expect_positive_int(getattr(self, name), name)
        if self.transform not in ("affine", "tps"):
            raise ValueError(f"transform: expected 'affine' or 'tps', got {self.transform!r}")


class SpatialTransformer(nn.Module):
    """Localisation net -> ``theta`` -> grid -> bilinear sampler. Starts as the identity.

    ``forward(x)``: (batch, 1, in_size, in_size) -> (batch, 1, out_size, out_size); the last
    ``theta`` (affine: (batch, 2, 3); tps: moved control points (batch, K, 2)) and sampling
    grid (batch, out_size, out_size, 2) are kept in ``self.last_theta`` / ``self.last_grid``
    for plotting. ``from_scratch=True`` uses this module's ``affine_grid`` /
    ``bilinear_sample`` instead of torch's (same result, slower).
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
            nn.Linear(config.hidden, 6 if config.transform == "affine" else 2 * config.control**2),
        )
        nn.init.zeros_(self.head[-1].weight)  # start at the identity transform
        with torch.no_grad():
            if config.transform == "affine":
                self.head[-1].bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
            else:  # offsets of the control points from their rest positions
                self.head[-1].bias.zero_()
        self.register_buffer("control", control_points(config.control), persistent=False)
        self.last_theta: torch.Tensor | None = None
        self.last_grid: torch.Tensor | None = None

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 1, in_size, in_size) -> theta (batch, 2, 3), or for ``"tps"`` the moved
        control points (batch, K, 2)."""
        out = self.head(self.features(x))  # (batch, 6) or (batch, 2K)
        if self.config.transform == "affine":
            return out.reshape(-1, 2, 3)  # (batch, 2, 3)
        return self.control + out.reshape(len(out), -1, 2)  # (batch, K, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(x, "batch, 1, H, W", name="x")
        if sizes["H"] != self.config.in_size or sizes["W"] != self.config.in_size:
            raise ValueError(
                f"x: expected H = W = in_size = {self.config.in_size}, got shape {tuple(x.shape)}"
            )
        theta = self.theta(x)  # (batch, 2, 3) or (batch, K, 2)
        size = (sizes["batch"], 1, self.config.out_size, self.config.out_size)
        if self.config.transform == "tps":
            grid = tps_grid(self.control, theta, size)  # (batch, out, out, 2)
        elif self.from_scratch:
            grid = affine_grid(theta, size)
        else:
            grid = F.affine_grid(theta, size, align_corners=False)
        self.last_theta, self.last_grid = theta.detach(), grid.detach()
        if self.from_scratch:
            return bilinear_sample(x, grid)  # (batch, 1, out, out)
        return F.grid_sample(x, grid, align_corners=False)  # (batch, 1, out, out)
