"""Heatmaps carry labels, titles and a colour bar; reference slopes have the exponents they
name; bands over runs show what they say; bad input gets a clear error."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.viz.plots import (  # noqa: E402
    band_over_runs,
    power_label,
    reference_slopes,
    show_heatmap,
    show_heatmaps,
)


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


def test_reference_slopes_have_the_asked_exponents_through_the_first_point():
    fig, ax = plt.subplots()
    ns, values = [256, 512, 1024, 2048], [0.5, 1.9, 8.1, 33.0]
    ax.plot(ns, values, "o-", label="measured")
    lines = reference_slopes(ax, ns, values, exponents=(1, 2))
    assert ax.get_xscale() == ax.get_yscale() == "log"
    for line, exponent in zip(lines, (1, 2), strict=True):
        xs, ys = (np.asarray(a, dtype=float) for a in line.get_data())
        assert (xs[0], ys[0]) == pytest.approx((256, 0.5))  # anchored at the first point
        assert xs[-1] == pytest.approx(2048)
        slope = np.diff(np.log(ys)) / np.diff(np.log(xs))
        assert slope == pytest.approx(exponent)
        assert line.get_linestyle() in ("--", ":")
    assert [line.get_label() for line in lines] == ["reference ∝ n", "reference ∝ n²"]
    assert [t.get_text() for t in ax.texts] == ["∝ n", "∝ n²"]  # at each guide's end
    legend = ax.legend()
    assert [t.get_text() for t in legend.get_texts()][1:] == ["reference ∝ n", "reference ∝ n²"]
    plt.close(fig)


def test_reference_slopes_span_labels_and_errors():
    fig, ax = plt.subplots()
    (line,) = reference_slopes(ax, [10, 20], [3.0, 5.0], exponents=(1.5,), span=(10, 1000))
    xs, ys = line.get_data()
    assert (xs[0], xs[-1]) == (10, 1000) and ys[-1] == pytest.approx(3.0 * 100**1.5)
    assert power_label(1) == "∝ n" and power_label(3) == "∝ n³" and power_label(1.5) == "∝ n¹·⁵"
    with pytest.raises(ValueError, match="values: expected one value per n"):
        reference_slopes(ax, [1, 2, 3], [1.0, 2.0])
    with pytest.raises(ValueError, match="first point must be positive"):
        reference_slopes(ax, [1, 2], [0.0, 2.0])
    with pytest.raises(ValueError, match="exponents: expected at least one"):
        reference_slopes(ax, [1, 2], [1.0, 2.0], exponents=())
    plt.close(fig)


def _band(ax):
    """The band seaborn drew: (x, lower, upper) from its PolyCollection's vertices."""
    (poly,) = ax.collections
    vertices = poly.get_paths()[0].vertices
    xs = np.unique(vertices[:, 0])
    low = np.array([vertices[vertices[:, 0] == x, 1].min() for x in xs])
    high = np.array([vertices[vertices[:, 0] == x, 1].max() for x in xs])
    return xs, low, high


def test_band_over_runs_mean_and_percentile_band():
    curves = torch.randn(5, 200, generator=torch.Generator().manual_seed(0)).cumsum(0)
    fig, ax = plt.subplots()
    ax.set(xlabel="step", ylabel="value")
    band_over_runs(ax, curves, "runs", "tab:blue")
    (line,) = ax.lines
    assert np.asarray(line.get_ydata()) == pytest.approx(curves.mean(1).numpy())
    xs, low, high = _band(ax)
    assert xs == pytest.approx(np.arange(5))
    assert low == pytest.approx(np.percentile(curves.numpy(), 10, axis=1))
    assert high == pytest.approx(np.percentile(curves.numpy(), 90, axis=1))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "value")  # kept, not seaborn's
    assert ax.get_legend_handles_labels()[1] == ["runs"]
    plt.close(fig)


def test_band_over_runs_two_standard_errors_median_and_nan():
    curves = torch.rand(3, 150, generator=torch.Generator().manual_seed(1))
    fig, ax = plt.subplots()
    band_over_runs(ax, curves, "se", "k", x=[0, 2, 4], errorbar=("se", 2), marker="o")
    xs, low, high = _band(ax)
    mean, se = curves.mean(1).numpy(), (curves.std(1) / 150**0.5).numpy()  # ddof 1
    assert xs == pytest.approx([0, 2, 4])
    assert low == pytest.approx(mean - 2 * se) and high == pytest.approx(mean + 2 * se)
    plt.close(fig)
    with_nan = curves.clone()
    with_nan[:, 0] = float("nan")
    fig, ax = plt.subplots()
    band_over_runs(ax, with_nan, "median", "k", estimator="median")
    assert np.asarray(ax.lines[0].get_ydata()) == pytest.approx(
        curves[:, 1:].median(1).values.numpy(), abs=0.02
    )  # NaN left out (torch's median of an even count is the lower middle value)
    plt.close(fig)
    with pytest.raises(ValueError, match=r"curves: expected \(steps, runs\)"):
        band_over_runs(ax, torch.rand(5), "x", "k")
    with pytest.raises(ValueError, match="x: expected 3 values"):
        band_over_runs(ax, torch.rand(3, 4), "x", "k", x=[1, 2])
