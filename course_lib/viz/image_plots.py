"""Pictures of attention over images: a map laid over the image with a colour bar, boxes.

``overlay_attention`` upsamples a coarse map (a grid of cells, patches) to the image size so it
lines up with the pixels; ``draw_boxes`` outlines (x0, y0, x1, y1) pixel boxes (pixel i spans
[i, i + 1], so the outline sits on the pixel edges).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.patches import Polygon, Rectangle


def _image(image: object, name: str = "image") -> torch.Tensor:
    image = torch.as_tensor(image).detach().cpu().float()
    if image.dim() == 3 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 2:
        raise ValueError(f"{name}: expected a 2-D (H, W) image, got shape {tuple(image.shape)}")
    return image


def show_image(
    image: object, ax: Axes | None = None, title: str = "", axes_labels: bool = True
) -> Axes:
    """A grey image (H, W) in pixel coordinates, x to the right and y down."""
    image = _image(image)
    ax = ax if ax is not None else plt.subplots(figsize=(2.6, 2.6))[1]
    height, width = image.shape
    ax.imshow(image.numpy(), cmap="gray", vmin=0, vmax=1, extent=(0, width, height, 0))
    ax.set_title(title, fontsize=10)
    if axes_labels:
        ax.set_xlabel("x (px)", fontsize=9)
        ax.set_ylabel("y (px)", fontsize=9)
    ax.tick_params(labelsize=9)
    return ax


def overlay_attention(
    image: object,
    weights: object,
    ax: Axes | None = None,
    title: str = "",
    colorbar: bool = True,
    alpha: float = 0.55,
    cmap: str = "inferno",
    axes_labels: bool = True,
    vmax: float | None = None,
) -> Axes:
    """The image with attention ``weights`` (G_h, G_w) over it, upsampled bilinearly to the
    image size; a colour bar shows the weight of one cell. The colour scale runs from 0 to
    ``vmax`` (default: this map's maximum; pass one value for a row of maps to compare them)."""
    image = _image(image)
    weights = torch.as_tensor(weights).detach().cpu().float()
    if weights.dim() != 2:
        raise ValueError(f"weights: expected a 2-D (G_h, G_w) map, got {tuple(weights.shape)}")
    ax = show_image(image, ax, title, axes_labels)
    height, width = image.shape
    up = F.interpolate(
        weights[None, None], size=(height, width), mode="bilinear", align_corners=False
    )[0, 0]  # (H, W)
    shown = ax.imshow(
        up.numpy(),
        cmap=cmap,
        alpha=alpha,
        extent=(0, width, height, 0),
        vmin=0,
        vmax=float(weights.max()) if vmax is None else vmax,
    )
    if colorbar:
        bar = ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label("attention weight", fontsize=9)
        bar.ax.tick_params(labelsize=9)
    return ax


def draw_boxes(
    ax: Axes,
    boxes: object,
    labels: Sequence[str] | None = None,
    color: str = "lime",
    linestyle: str = "-",
) -> Axes:
    """Outline (n, 4) boxes (x0, y0, x1, y1) in pixels, with an optional label above each."""
    boxes = torch.as_tensor(boxes).detach().cpu().float().reshape(-1, 4)
    if labels is not None and len(labels) != len(boxes):
        raise ValueError(f"labels: {len(labels)} labels for {len(boxes)} boxes")
    for i, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        ax.add_patch(
            Rectangle(
                (x0, y0),
                x1 - x0,
                y1 - y0,
                fill=False,
                edgecolor=color,
                linewidth=1.3,
                linestyle=linestyle,
            )
        )
        if labels is not None:
            ax.text(x0, y0 - 1, labels[i], color=color, fontsize=9, va="bottom")
    return ax


def draw_outline(ax: Axes, points: object, color: str = "cyan") -> Axes:
    """Outline the closed polygon through ``points`` (n, 2) of (x, y) pixels, n >= 3, in order."""
    points = torch.as_tensor(points).detach().cpu().float()
    if points.dim() != 2 or points.shape[1] != 2 or len(points) < 3:
        raise ValueError(f"points: expected shape (n >= 3, 2), got {tuple(points.shape)}")
    ax.add_patch(Polygon(points.numpy(), closed=True, fill=False, edgecolor=color, linewidth=1.3))
    return ax


def draw_quad(ax: Axes, corners: object, color: str = "cyan") -> Axes:
    """Outline a quadrilateral given by its 4 corners (4, 2) of (x, y) pixels, in order."""
    corners = torch.as_tensor(corners).detach().cpu().float()
    if corners.shape != (4, 2):
        raise ValueError(f"corners: expected shape (4, 2), got {tuple(corners.shape)}")
    return draw_outline(ax, corners, color)


def grid_outline(grid: object, size: int) -> torch.Tensor:
    """The border of a sampling grid (H_out, W_out, 2) of normalised (x, y) points, walked
    clockwise, in pixels of a ``size`` x ``size`` input (align_corners=False) -> (n, 2): where
    in the input the output's frame lies."""
    grid = torch.as_tensor(grid).detach().cpu().float()
    if grid.dim() != 3 or grid.shape[-1] != 2:
        raise ValueError(f"grid: expected shape (H_out, W_out, 2), got {tuple(grid.shape)}")
    border = torch.cat([grid[0, :-1], grid[:-1, -1], grid[-1, 1:].flip(0), grid[1:, 0].flip(0)])
    return (border + 1) * size / 2  # (n, 2) pixels
