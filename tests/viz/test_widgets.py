"""The alignment explorer widget."""

import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.viz.widgets import alignment_explorer  # noqa: E402


def test_alignment_explorer_has_class_slider_and_updates_caption():
    sources = [["vier", "und", "zwanzig"], ["sept"]]
    outputs = [["2", "4", "<eos>"], ["7", "<eos>"]]
    alignments = [torch.rand(3, 3), torch.rand(2, 1)]
    box = alignment_explorer(sources, outputs, alignments, captions=["right", "wrong"])
    assert "alignment-explorer" in box._dom_classes
    slider, caption, _ = box.children
    assert (slider.min, slider.max) == (0, 1)
    assert "vier und zwanzig" in caption.value and "right" in caption.value
    slider.value = 1
    assert "sept" in caption.value and "wrong" in caption.value


def test_alignment_explorer_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="outputs: 1 entries for 2 sources"):
        alignment_explorer([["a"], ["b"]], [["1"]], [torch.rand(1, 1)] * 2)
    with pytest.raises(ValueError, match="sources: expected at least one example"):
        alignment_explorer([], [], [])


def test_explorer_redraws_on_every_control_and_lays_out_controls():
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from course_lib.viz.widgets import explorer

    a, b = widgets.IntSlider(value=0, min=0, max=3), widgets.Dropdown(options=["x", "y"])
    seen = []

    def draw():
        seen.append((a.value, b.value))
        plt.close(plt.subplots()[0])

    box = explorer([a, b], draw, "test-explorer", widgets.HTML("c"))
    assert "test-explorer" in box._dom_classes
    row, caption, plot = box.children
    assert isinstance(row, widgets.HBox) and list(row.children) == [a, b]
    assert caption.value == "c" and isinstance(plot, widgets.Output)
    a.value = 2
    b.value = "y"
    assert seen == [(0, "x"), (2, "x"), (2, "y")]
    single = explorer([widgets.IntSlider()], lambda: None, "one-explorer")
    assert len(single.children) == 2 and isinstance(single.children[0], widgets.IntSlider)
