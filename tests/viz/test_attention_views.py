"""Attention pictures (per layer and head, token graph) and the lesson-06 explorers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.viz.attention_views import show_layer_heads, show_token_graph  # noqa: E402
from course_lib.viz.style import small_text  # noqa: E402
from course_lib.viz.widgets import head_explorer, saliency_explorer  # noqa: E402


def test_layer_heads_grid_has_one_titled_heatmap_per_head():
    weights = torch.rand(2, 3, 4, 5).softmax(-1)
    fig = show_layer_heads(weights, list("abcde"), list("wxyz"))
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled[0] == "layer 1, head 1" and titled[-1] == "layer 2, head 3"
    assert len(titled) == 6
    heatmaps = [ax for ax in fig.axes if ax.get_title()]
    assert {ax.collections[0].get_clim() for ax in heatmaps} == {(0.0, 1.0)}  # one shared scale
    assert len(fig.axes) == 7  # six heatmaps and one colour bar for all of them
    plt.close(fig)


def test_layer_heads_text_is_readable_projected():
    tokens = "sieben und achtzig , vier , acht hundert zwei und dreißig <eos>".split()
    weights = torch.rand(2, 4, len(tokens), len(tokens)).softmax(-1)
    fig = show_layer_heads(weights, tokens, tokens, title="a lesson-06 sized grid")
    assert small_text(fig) == []  # every tick, title and label >= 9 pt on a slide
    plt.close(fig)


def test_token_graph_draws_a_line_per_weight_above_threshold():
    weights = torch.tensor([[0.9, 0.1, 0.0], [0.0, 0.5, 0.5]])
    ax = show_token_graph(weights, ["a", "b", "c"], ["x", "y"], threshold=0.05)
    assert len(ax.lines) == 4
    assert {t.get_text() for t in ax.texts} == {"a", "b", "c", "x", "y"}
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="left, right: expected 3 key and 2 query labels"):
        show_token_graph(weights, ["a"], ["x", "y"])


def test_head_explorer_controls():
    examples = [(list("abc"), list("xy"), torch.rand(2, 4, 2, 3)) for _ in range(3)]
    box = head_explorer(examples)
    assert "head-explorer" in box._dom_classes
    example, layer, head = box.children[0].children
    assert (example.max, len(layer.options), len(head.options)) == (2, 2, 5)
    head.value = 2
    layer.value = 0
    with pytest.raises(ValueError, match=r"examples\[1\]: weights must be"):
        head_explorer([examples[0], (list("ab"), list("xy"), torch.rand(2, 4, 2, 3))])


def test_saliency_explorer_controls_and_checks():
    images = torch.rand(3, 8, 8)
    maps = {"gradient": torch.rand(3, 8, 8), "Grad-CAM": torch.rand(3, 8, 8)}
    box = saliency_explorer(images, maps, boxes=torch.tensor([[1.0, 1, 5, 5]] * 3))
    assert "saliency-explorer" in box._dom_classes
    example, method = box.children[0].children
    assert list(method.options) == ["gradient", "Grad-CAM"]
    method.value = "Grad-CAM"
    example.value = 2
    with pytest.raises(ValueError, match=r"maps\['x'\]: expected shape"):
        saliency_explorer(images, {"x": torch.rand(3, 4, 4)})
    plt.close("all")
