"""Heatmaps carry labels, titles and a colour bar; bad input gets a clear error."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.viz.plots import show_heatmap, show_heatmaps  # noqa: E402


def test_heatmap_has_token_labels_axis_names_and_colorbar():
    ax = show_heatmap(
        torch.softmax(torch.randn(2, 3), -1),
        x_labels=["a", "b", "c"],
        y_labels=["x", "y"],
        title="T",
        annotate=True,
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("T", "keys", "queries")
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar
    assert len(ax.texts) == 6
    plt.close("all")


def test_heatmap_tick_step_labels_every_nth_token():
    labels = [f"t{i}" for i in range(25)]
    ax = show_heatmap(torch.rand(25, 25), x_labels=labels, y_labels=labels, tick_step=10)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["t0", "t10", "t20"]
    with pytest.raises(ValueError, match="tick_step: expected a positive int"):
        show_heatmap(torch.rand(2, 2), tick_step=0)
    plt.close("all")


def test_heatmaps_grid():
    fig = show_heatmaps([torch.rand(2, 2)] * 3, ["a", "b", "c"], ncols=2, suptitle="S")
    visible = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in visible] == ["a", "b", "c"]
    plt.close("all")


def test_heatmap_errors():
    with pytest.raises(ValueError, match=r"weights: expected a 2-D \(queries, keys\) matrix"):
        show_heatmap(torch.rand(2, 2, 2))
    with pytest.raises(ValueError, match=r"x_labels: 2 labels for 3 keys"):
        show_heatmap(torch.rand(2, 3), x_labels=["a", "b"])
    with pytest.raises(ValueError, match="titles: 1 titles for 2 matrices"):
        show_heatmaps([torch.rand(2, 2)] * 2, ["a"])
