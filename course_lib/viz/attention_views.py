"""Offline pictures of multi-head attention: a heatmap per layer and head, and a token graph
(the "head view" of bertviz, drawn with matplotlib, so no JavaScript is needed).

Shapes: ``weights`` (layers, heads, T, S) for one example: T query tokens (rows, outputs),
S key tokens (columns, inputs); each row sums to 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_lib.core.shapes import expect_shape
from course_lib.viz.plots import show_heatmap


def show_layer_heads(
    weights: torch.Tensor,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    title: str = "Attention per layer and head",
    xlabel: str = "keys",
    ylabel: str = "queries",
    cell: float = 2.6,
) -> Figure:
    """One heatmap per (layer, head) of ``weights`` (layers, heads, T, S): a row of heads per
    layer, token labels on the outer axes, one colour scale 0..1 shared by every head (one
    colour bar), text readable when projected (at least 9 pt on a slide)."""
    sizes = expect_shape(weights, "layers, heads, T, S", name="weights")
    layers, heads = sizes["layers"], sizes["heads"]
    fig, axes = plt.subplots(
        layers,
        heads,
        figsize=(cell * heads + 1.2, cell * layers + 1.0),
        squeeze=False,
        layout="constrained",
    )
    for layer in range(layers):
        for head in range(heads):
            ax = axes[layer, head]
            show_heatmap(
                weights[layer, head],
                x_labels=list(x_labels),
                y_labels=list(y_labels),
                title=f"layer {layer + 1}, head {head + 1}",
                xlabel=xlabel if layer == layers - 1 else "",
                ylabel=ylabel if head == 0 else "",
                ax=ax,
                vmax=1.0,
                colorbar=False,
            )
            ax.title.set_fontsize(11)
            ax.tick_params(labelsize=10)
            if layer != layers - 1:
                ax.set_xticks([])
            if head != 0:
                ax.set_yticks([])
    bar = fig.colorbar(axes[0, 0].collections[0], ax=axes, fraction=0.03, pad=0.02)
    bar.set_label("attention weight (every head, 0..1)")
    fig.suptitle(title, fontsize=13)
    return fig


def show_token_graph(
    weights: torch.Tensor,
    left: Sequence[str],
    right: Sequence[str],
    ax: Axes | None = None,
    title: str = "Attention as a graph",
    color: str = "tab:blue",
    threshold: float = 0.02,
) -> Axes:
    """Tokens ``left`` (S keys) and ``right`` (T queries) in two columns, a line from each
    query to each key whose opacity and width grow with the weight (weights (T, S); lines
    under ``threshold`` are left out)."""
    sizes = expect_shape(weights, "T, S", name="weights")
    if len(left) != sizes["S"] or len(right) != sizes["T"]:
        raise ValueError(
            f"left, right: expected {sizes['S']} key and {sizes['T']} query labels, "
            f"got {len(left)} and {len(right)}"
        )
    ax = ax if ax is not None else plt.subplots(figsize=(3.2, 0.28 * max(sizes.values()) + 1))[1]
    top = max(sizes["T"], sizes["S"]) - 1
    for i, row in enumerate(weights.detach().float().tolist()):
        for j, w in enumerate(row):
            if w >= threshold:
                ax.plot([0, 1], [top - j, top - i], color=color, alpha=min(1.0, w), lw=3 * w)
    for j, token in enumerate(left):
        ax.text(-0.05, top - j, token, ha="right", va="center", fontsize=10)
    for i, token in enumerate(right):
        ax.text(1.05, top - i, token, ha="left", va="center", fontsize=10)
    ax.set(xlim=(-0.6, 1.6), ylim=(-1, top + 1), title=title)
    ax.set_xticks([0, 1], ["keys", "queries"])
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax
