"""Tests of course_lib.viz.image_plots: overlays and boxes draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.vision.spatial import affine_grid  # noqa: E402
from course_lib.viz.image_plots import (  # noqa: E402
    draw_boxes,
    draw_outline,
    draw_quad,
    grid_outline,
    overlay_attention,
    show_image,
)


def test_overlay_attention_upsamples_to_the_image_and_adds_a_colour_bar():
    fig, ax = plt.subplots()
    weights = torch.zeros(4, 4)
    weights[1, 2] = 1.0
    overlay_attention(torch.rand(32, 32), weights, ax, "title")
    layers = ax.get_images()
    assert len(layers) == 2 and layers[1].get_array().shape == (32, 32)
    assert len(fig.axes) == 2  # the image axes and its colour bar
    assert ax.get_title() == "title" and ax.get_xlabel() == "x (px)"
    peak = divmod(int(layers[1].get_array().argmax()), 32)
    assert 8 <= peak[0] < 16 and 16 <= peak[1] < 24  # the cell at row 1, column 2
    plt.close(fig)


def test_boxes_and_quads():
    fig, ax = plt.subplots()
    show_image(torch.rand(1, 16, 16), ax)
    draw_boxes(ax, torch.tensor([[1.0, 2.0, 5.0, 9.0], [8, 8, 12, 15]]), ["3", "7"])
    draw_quad(ax, torch.tensor([[0.0, 0], [4, 0], [4, 4], [0, 4]]))
    assert len(ax.patches) == 3 and [t.get_text() for t in ax.texts] == ["3", "7"]
    rect = ax.patches[0]
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (1, 2, 4, 7)
    with pytest.raises(ValueError, match="labels"):
        draw_boxes(ax, torch.zeros(2, 4), ["only one"])
    with pytest.raises(ValueError, match="image"):
        show_image(torch.rand(2, 3, 4, 4), ax)
    with pytest.raises(ValueError, match="weights"):
        overlay_attention(torch.rand(8, 8), torch.rand(8), ax)
    plt.close(fig)


def test_grid_outline_of_the_identity_is_the_image_border():
    grid = affine_grid(torch.eye(2, 3)[None], (1, 1, 4, 4))[0]  # (4, 4, 2)
    outline = grid_outline(grid, 8)  # pixel centres of the 4x4 border, in an 8 px image
    assert outline.shape == (12, 2)
    assert outline[0].tolist() == [1.0, 1.0] and outline.max() == 7.0
    fig, ax = plt.subplots()
    draw_outline(ax, outline)
    assert len(ax.patches) == 1
    with pytest.raises(ValueError, match="points"):
        draw_outline(ax, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="grid"):
        grid_outline(torch.zeros(4, 2), 8)
    plt.close(fig)


def test_overlay_attention_shares_a_colour_scale_when_given_vmax():
    fig, axes = plt.subplots(1, 2)
    weak, strong = torch.full((4, 4), 0.03), torch.full((4, 4), 0.3)
    overlay_attention(torch.rand(16, 16), weak, axes[0], vmax=0.3)
    overlay_attention(torch.rand(16, 16), strong, axes[1], vmax=0.3)
    assert [ax.get_images()[1].get_clim() for ax in axes] == [(0, 0.3), (0, 0.3)]
    alone, _ = plt.subplots()
    overlay_attention(torch.rand(16, 16), weak, alone.axes[0])  # its own maximum
    assert alone.axes[0].get_images()[1].get_clim()[1] == pytest.approx(0.03)
    plt.close("all")
