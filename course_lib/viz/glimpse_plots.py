"""Pictures of hard attention: where a recurrent attention model looked, what each glimpse
showed it, and a widget to step through the glimpses of one image.

Locations are normalised (x, y) in [-1, 1] (see :mod:`course_lib.hard.glimpse`); boxes and paths
are drawn in pixels on :func:`~course_lib.viz.image_plots.show_image`'s axes.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

from course_lib.core.shapes import expect_shape
from course_lib.hard.glimpse import RetinaConfig, glimpse_boxes, normalized_to_pixel, retina
from course_lib.viz.image_plots import draw_boxes, show_image
from course_lib.viz.widgets import explorer

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
            fontsize=7,
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
            fontsize=8,
            color=SCALE_COLOURS[k % len(SCALE_COLOURS)],
        )
        ax.set_xticks([])
        ax.set_yticks([])


def glimpse_explorer(
    images: torch.Tensor,
    locations: torch.Tensor,
    step_probs: torch.Tensor,
    labels: torch.Tensor,
    config: RetinaConfig = DEFAULT_RETINA,
    css_class: str = "glimpse-explorer",
) -> widgets.VBox:
    """Step through a recurrent attention model's glimpses.

    images (n, S, S); locations (n, T, 2) normalised; step_probs (n, T, classes): the class
    probabilities after each glimpse; labels (n,). Sliders pick the image and the glimpse; the
    figure shows the path so far with every scale of the current glimpse, what the retina
    saw, and what the model believes after that glimpse.
    """
    sizes = expect_shape(locations, "n, T, 2", name="locations")
    expect_shape(step_probs, "n, T, classes", name="step_probs")
    n, steps = sizes["n"], sizes["T"]
    if not n:
        raise ValueError("images: expected at least one image")
    example = widgets.IntSlider(
        value=0, min=0, max=n - 1, description="image", continuous_update=False
    )
    step = widgets.IntSlider(
        value=1, min=1, max=steps, description="glimpse", continuous_update=False
    )
    caption = widgets.HTML()

    def draw() -> None:
        i, t = example.value, step.value
        probs = step_probs[i, t - 1]  # (classes,)
        guess = int(probs.argmax())
        caption.value = (
            f"<b>image {i}</b>, label {int(labels[i])}: after glimpse {t} of "
            f"{steps} the model says <b>{guess}</b> (p = {float(probs[guess]):.2f})"
        )
        glimpse = retina(images[i : i + 1], locations[i, t - 1 : t], config)[0]  # (scales, p, p)
        fig = plt.figure(figsize=(10, 3.2))
        grid = fig.add_gridspec(
            2, 2 + config.scales, width_ratios=[2.2] + [1] * config.scales + [2.2]
        )
        show_trajectory(
            fig.add_subplot(grid[:, 0]),
            images[i],
            locations[i],
            config,
            upto=t,
            title=f"glimpses 1..{t}",
            scales_at=t - 1,
        )
        show_glimpse(
            [fig.add_subplot(grid[:, 1 + k]) for k in range(config.scales)], glimpse, config
        )
        bars = fig.add_subplot(grid[:, -1])
        colours = ["tab:green" if c == int(labels[i]) else "tab:gray" for c in range(len(probs))]
        bars.bar(range(len(probs)), probs.numpy(), color=colours)
        bars.set(
            title="belief after this glimpse",
            xlabel="class",
            ylabel="probability",
            ylim=(0, 1),
            xticks=range(len(probs)),
        )
        fig.tight_layout()

    return explorer([example, step], draw, css_class, caption)
