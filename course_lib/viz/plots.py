"""Plots the lessons share: attention heatmaps with token labels and a colour bar, reference
slopes on log-log cost plots, and a band over runs (seaborn) where runs vary."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

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
    colorbar: bool = True,
) -> Axes:
    """Draw one (queries, keys) matrix with token labels, axis names and a colour bar
    (``seaborn.heatmap``: one cell per weight, its value written in it if ``annotate``).

    ``tick_step`` labels only every n-th row and column (for long sequences); ``colorbar=False``
    leaves the bar out (for a grid that shares one: the cells are ``ax.collections[0]``).
    """
    matrix = _as_matrix(weights, "weights")
    _check_labels(x_labels, matrix.shape[1], "x_labels", "keys (columns)")
    _check_labels(y_labels, matrix.shape[0], "y_labels", "queries (rows)")
    expect_positive_int(tick_step, "tick_step")
    ax = ax if ax is not None else plt.subplots(figsize=(4, 3.5))[1]
    sns.heatmap(
        matrix.numpy(),
        ax=ax,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        cbar=colorbar,
        cbar_kws={"fraction": 0.046, "pad": 0.04},
        annot=annotate,
        fmt=".2f",
        annot_kws={"fontsize": 9},
        xticklabels=False,
        yticklabels=False,
    )
    for labels, set_ticks, rotation in (
        (x_labels, ax.set_xticks, 90),
        (y_labels, ax.set_yticks, 0),
    ):
        if labels is not None:  # one tick at the centre of every tick_step-th cell
            ticks = range(0, len(labels), tick_step)
            set_ticks([i + 0.5 for i in ticks], [labels[i] for i in ticks], rotation=rotation)
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


_SUPERSCRIPTS = str.maketrans("0123456789.-", "⁰¹²³⁴⁵⁶⁷⁸⁹·⁻")
_GUIDE_STYLES = ("--", ":", "-.")


def power_label(exponent: float) -> str:
    """'∝ n', '∝ n²', '∝ n¹·⁵': how a reference slope is named on a plot."""
    power = "" if exponent == 1 else f"{exponent:g}".translate(_SUPERSCRIPTS)
    return f"∝ n{power}"


def reference_slopes(
    ax: Axes,
    ns: Sequence[float],
    values: Sequence[float],
    exponents: Sequence[float] = (1, 2),
    color: str = "grey",
    span: tuple[float, float] | None = None,
) -> list[Line2D]:
    """Dashed guide lines ∝ n^p, one per exponent p, through the first measured point
    (``ns[0]``, ``values[0]``) of a log-log cost plot, each labelled ('∝ n', '∝ n²') in the
    legend and under its right end: a curve parallel to a guide grows with that exponent.

    The guides span ``ns`` (or ``span``, (n_min, n_max)); returns the lines, in the order of
    ``exponents``.
    """
    if len(ns) != len(values) or len(ns) < 1:
        raise ValueError(
            f"values: expected one value per n (and at least one), got {len(values)} values "
            f"for {len(ns)} ns"
        )
    n0, y0 = float(ns[0]), float(values[0])
    if not (n0 > 0 and y0 > 0 and math.isfinite(n0) and math.isfinite(y0)):
        raise ValueError(
            f"ns, values: the first point must be positive on a log-log plot, got ({n0}, {y0})"
        )
    if not exponents:
        raise ValueError("exponents: expected at least one exponent, e.g. (1, 2)")
    low, high = span if span is not None else (min(map(float, ns)), max(map(float, ns)))
    if not 0 < low < high:
        raise ValueError(f"span: expected 0 < n_min < n_max, got ({low}, {high})")
    xs = np.array([low, high])
    lines = []
    for i, p in enumerate(exponents):
        ys = y0 * (xs / n0) ** float(p)
        name = power_label(float(p))
        (line,) = ax.plot(
            xs,
            ys,
            _GUIDE_STYLES[i % len(_GUIDE_STYLES)],
            color=color,
            lw=1.2,
            label=f"reference {name}",
            zorder=1,
        )
        ax.annotate(
            name,
            (xs[-1], ys[-1]),
            xytext=(-4, -4),  # just under the guide's right end, inside the axes
            textcoords="offset points",
            color=color,
            fontsize=10,
            ha="right",
            va="top",
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
            annotation_clip=False,
        )
        lines.append(line)
    ax.set_xscale("log")
    ax.set_yscale("log")
    return lines


def band_over_runs(
    ax: Axes,
    curves: object,
    label: str,
    color: str,
    x: Sequence[float] | None = None,
    estimator: str = "mean",
    errorbar: tuple[str, float] = ("pi", 80),
    marker: str | None = None,
) -> Axes:
    """The mean (or ``estimator``) of ``curves`` (steps, runs) over runs, with a shaded band
    drawn by ``seaborn.lineplot``: ``errorbar=("pi", 80)`` the middle 80 % of runs (10-90th
    percentile), ``("se", 2)`` ± 2 standard errors of the mean, ``("ci", 95)`` a bootstrap
    95 % interval. NaN values are left out. ``x``: the step values (default 0, 1, ...)."""
    values = torch.as_tensor(curves).detach().cpu().double()
    if values.dim() != 2 or values.shape[1] < 2:
        raise ValueError(
            f"curves: expected (steps, runs) with at least 2 runs, got {tuple(values.shape)}"
        )
    steps, runs = values.shape
    xs = np.arange(steps) if x is None else np.asarray(x, dtype=float)
    if xs.shape != (steps,):
        raise ValueError(f"x: expected {steps} values (one per step), got {xs.shape[0]}")
    frame = pd.DataFrame({"x": np.repeat(xs, runs), "y": values.numpy().reshape(-1)})
    names = ax.get_xlabel(), ax.get_ylabel()  # seaborn names the axes after the columns
    sns.lineplot(
        data=frame.dropna(),
        x="x",
        y="y",
        estimator=estimator,
        errorbar=errorbar,
        color=color,
        label=label,
        marker=marker,
        ax=ax,
    )
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    return ax
