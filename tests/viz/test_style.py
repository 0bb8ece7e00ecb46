"""Text size as projected: a wide figure shrinks on a slide, and small text is found."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_lib.viz.style import slide_points, slide_scale, small_text  # noqa: E402


def test_a_figure_narrower_than_the_slide_keeps_its_sizes():
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.plot([0, 1], [0, 1])
    ax.set_title("big", fontsize=12)
    ax.set_xlabel("small", fontsize=7)
    ax.tick_params(labelsize=10)
    assert slide_scale(fig) == 1.0
    sizes = dict(slide_points(fig))
    assert sizes["big"] == 12 and sizes["small"] == 7
    assert small_text(fig) == [("small", 7)]
    plt.close(fig)


def test_a_wide_figure_shrinks_and_its_ticks_become_too_small():
    fig, ax = plt.subplots(figsize=(25.6, 3), dpi=100)  # about 2560 px: shown at half size
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=12)
    ax.set_title("title", fontsize=20)
    width_px = fig.get_tightbbox(fig.canvas.get_renderer()).width * 100  # what a notebook saves
    scale = slide_scale(fig)
    assert scale == pytest.approx(1280 / width_px) and scale < 0.7
    small = small_text(fig)
    assert small and all(size == pytest.approx(12 * scale) for _, size in small)
    assert "title" not in dict(small)  # 20 pt -> about 12 pt: still readable
    plt.close(fig)


def test_hidden_and_out_of_view_ticks_are_not_counted():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.set_xticks([0, 1, 2], ["a", "b", "c"], fontsize=5)
    ax.set_xlim(-0.5, 1.5)  # "c" lies outside the view
    ax.set_yticks([])
    assert sorted(text for text, _ in small_text(fig)) == ["a", "b"]
    with pytest.raises(ValueError, match="slide_px: expected a positive number"):
        slide_scale(fig, 0)
    plt.close(fig)
