"""Pictures of hard attention: where a recurrent attention model looked and what each glimpse
showed it (:func:`course_lib.viz.widgets.glimpse_explorer` steps through them).

Locations are normalised (x, y) in [-1, 1] (see :mod:`course_lib.core.retina`); boxes and paths
are drawn in pixels on :func:`~course_lib.viz.image_plots.show_image`'s axes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.axes import Axes

from course_lib.core.retina import RetinaConfig, glimpse_boxes, normalized_to_pixel
from course_lib.core.shapes import expect_shape
from course_lib.viz.image_plots import draw_boxes, show_image

SCALE_COLOURS = ("#ff3b3b", "#ffb000", "#38b6ff")  # fine -> coarse
DEFAULT_RETINA = RetinaConfig()


def show_trajectory(
    ax: Axes,
    image: torch.Tensor,
    locations: torch.Tensor,
    config: RetinaConfig = DEFAULT_RETINA,
    upto: int | None = None,
    title: str = "",
    scales_at: int | None = None,
) -> Axes:
    """The image with the glimpse path: glimpse t's centre numbered, its finest square drawn;
    ``upto`` glimpses only (default all); ``scales_at``: also draw every scale of that glimpse.

    image: (S, S); locations: (T, 2) normalised.
    """
    expect_shape(locations, "T, 2", name="locations")
    size = image.shape[-1]
    upto = len(locations) if upto is None else upto
    show_image(image, ax, title)
    centres = normalized_to_pixel(locations[:upto], size)  # (t, 2) px
    ax.plot(centres[:, 0], centres[:, 1], "-", color="white", lw=1, alpha=0.8)
    boxes = glimpse_boxes(locations[:upto], size, config)  # (t, scales, 4)
    draw_boxes(ax, boxes[:, 0], color=SCALE_COLOURS[0])
    for t, (x, y) in enumerate(centres.tolist()):
        ax.text(
            x,
            y,
            str(t + 1),
            color="black",
            fontsize=9,
            ha="center",
            va="center",
            bbox={"boxstyle": "circle,pad=0.15", "fc": "yellow", "ec": "none"},
        )
    if scales_at is not None:
        for k in range(1, config.scales):
            draw_boxes(
                ax, boxes[scales_at, k], color=SCALE_COLOURS[k % len(SCALE_COLOURS)], linestyle="--"
            )
    ax.set_xlim(0, size)
    ax.set_ylim(size, 0)
    return ax


def show_glimpse(
    axes: Sequence[Axes], glimpse: torch.Tensor, config: RetinaConfig = DEFAULT_RETINA
) -> None:
    """The retina's scales (scales, p, p), one per axis, titled with the region they cover."""
    expect_shape(glimpse, "scales, p, p2", name="glimpse")
    for k, ax in enumerate(axes):
        side = config.side(k)
        ax.imshow(glimpse[k].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(
            f"scale {k + 1}: {side}x{side} px\nseen as {config.patch}x{config.patch}",
            fontsize=9,
            color=SCALE_COLOURS[k % len(SCALE_COLOURS)],
        )
        ax.set_xticks([])
        ax.set_yticks([])
