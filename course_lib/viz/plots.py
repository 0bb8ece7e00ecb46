"""Plots the lessons share: attention heatmaps with token labels and a colour bar."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_lib.core.shapes import expect_positive_int


def _as_matrix(weights: object, name: str) -> torch.Tensor:
    matrix = torch.as_tensor(weights).detach().cpu().float()
    if matrix.dim() != 2:
        raise ValueError(
            f"{name}: expected a 2-D (queries, keys) matrix, got shape {tuple(matrix.shape)}"
        )
    return matrix


def _check_labels(labels: Sequence[str] | None, size: int, name: str, axis: str) -> None:
    if labels is not None and len(labels) != size:
        raise ValueError(f"{name}: {len(labels)} labels for {size} {axis}")


def show_heatmap(
    weights: object,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    title: str = "Attention weights",
    xlabel: str = "keys",
    ylabel: str = "queries",
    ax: Axes | None = None,
    cmap: str = "viridis",
    vmin: float | None = 0.0,
    vmax: float | None = None,
    annotate: bool = False,
    tick_step: int = 1,
) -> Axes:
    """Draw one (queries, keys) matrix with token labels, axis names and a colour bar.

    ``tick_step`` labels only every n-th row and column (for long sequences).
    """
    matrix = _as_matrix(weights, "weights")
    _check_labels(x_labels, matrix.shape[1], "x_labels", "keys (columns)")
    _check_labels(y_labels, matrix.shape[0], "y_labels", "queries (rows)")
    ax = ax if ax is not None else plt.subplots(figsize=(4, 3.5))[1]
    image = ax.imshow(matrix.numpy(), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    expect_positive_int(tick_step, "tick_step")
    if x_labels is not None:
        ticks = range(0, len(x_labels), tick_step)
        ax.set_xticks(ticks, [x_labels[i] for i in ticks], rotation=90)
    if y_labels is not None:
        ticks = range(0, len(y_labels), tick_step)
        ax.set_yticks(ticks, [y_labels[i] for i in ticks])
    if annotate:
        middle = (image.norm.vmin + image.norm.vmax) / 2  # dark text on bright cells
        for (row, col), value in zip(
            torch.cartesian_prod(
                torch.arange(matrix.shape[0]), torch.arange(matrix.shape[1])
            ).tolist(),
            matrix.flatten().tolist(),
            strict=True,
        ):
            colour = "black" if value > middle else "white"
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax


def show_heatmaps(
    matrices: Sequence[object],
    titles: Sequence[str],
    ncols: int | None = None,
    suptitle: str | None = None,
    **heatmap_kwargs: object,
) -> Figure:
    """Draw several heatmaps side by side (one per title); kwargs go to ``show_heatmap``."""
    if len(matrices) != len(titles):
        raise ValueError(f"titles: {len(titles)} titles for {len(matrices)} matrices")
    if not matrices:
        raise ValueError("matrices: expected at least one matrix")
    ncols = ncols or len(matrices)
    nrows = -(-len(matrices) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.2 * nrows), squeeze=False)
    for ax, matrix, title in zip(list(axes.flat)[: len(matrices)], matrices, titles, strict=True):
        show_heatmap(matrix, title=title, ax=ax, **heatmap_kwargs)
    for ax in list(axes.flat)[len(matrices) :]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
