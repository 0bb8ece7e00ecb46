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


def _sparse_explorer(**kwargs):
    from course_lib.scale.sparse import PATTERNS, block_sparse_attention, pattern_mask
    from course_lib.viz.widgets import sparse_pattern_explorer

    options = dict(lengths=(64, 128), block=16, corner=64, repeats=1, max_window=16)
    options.update(kwargs)
    return sparse_pattern_explorer(pattern_mask, block_sparse_attention, PATTERNS, **options)


def test_sparse_pattern_explorer_shows_the_numbers_of_each_setting():
    import matplotlib.pyplot as plt

    from course_lib.scale.sparse import density, pattern_mask, tile_layout

    plt.close("all")
    box = _sparse_explorer(pattern="window", n=128, window=4)
    assert "sparse-pattern-explorer" in box._dom_classes
    row, caption, _ = box.children
    pattern, length, window = row.children
    assert (pattern.value, length.value, window.value) == ("window", 128, 4)
    assert window.max == 16 and list(length.options) == [("n = 64", 64), ("n = 128", 128)]
    seen = {caption.value}
    for control, value in ((pattern, "bigbird"), (length, 64), (window, 2), (pattern, "dense")):
        control.value = value
        assert caption.value not in seen, f"{control.description} did not change the caption"
        seen.add(caption.value)
        mask = pattern_mask(pattern.value, length.value, window=window.value)
        tiles = tile_layout(mask, 16)
        n = length.value
        assert f"<b>{int(mask.sum()):,}</b> of {n * n:,} pairs" in caption.value
        assert f"density <b>{density(mask):.2%}</b>" in caption.value
        assert f"<b>{int(tiles.sum()):,}</b> of {tiles.numel():,} (16 &times; 16)" in caption.value
        assert "ms" in caption.value and "largest difference" in caption.value
        error = float(caption.value.split("masked output ")[1].split(")")[0])
        assert error < 1e-4  # block-sparse attention computed what the masked one does
    fig = plt.gcf()
    mask_ax, tiles_ax = fig.axes[:2]
    for ax in (mask_ax, tiles_ax):
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("key position", "query position")
        assert "dense, n = 64" in ax.get_title()
        assert min(label.get_fontsize() for label in ax.get_xticklabels()) >= 9
    plt.close("all")


def test_sparse_pattern_explorer_labels_the_corner_and_caches_each_setting():
    import matplotlib.pyplot as plt

    from course_lib.scale.sparse import PATTERNS, block_sparse_attention, pattern_mask
    from course_lib.viz.widgets import sparse_pattern_explorer

    masks, runs = [], []

    def mask_fn(*args, **kwargs):
        masks.append(args)
        return pattern_mask(*args, **kwargs)

    def sparse(*args):
        runs.append(1)
        return block_sparse_attention(*args)

    plt.close("all")
    box = sparse_pattern_explorer(
        mask_fn, sparse, PATTERNS, lengths=(64, 128), n=128, block=16, corner=64, repeats=1
    )
    pattern, length, window = box.children[0].children
    assert "first 64 × 64 (of 128 × 128)" in plt.gcf().axes[0].get_title()
    first = box.children[1].value
    pattern.value = "window"
    made, timed = len(masks), len(runs)
    pattern.value = "dense"  # back: nothing is computed again
    assert box.children[1].value == first and (len(masks), len(runs)) == (made, timed)
    window.value = 3  # dense ignores the window: a new mask, but the same one, so no timing
    assert len(masks) == made + 1 and len(runs) == timed
    plt.close("all")


def test_sparse_pattern_explorer_rejects_bad_arguments():
    import torch

    from course_lib.viz.widgets import sparse_pattern_explorer

    with pytest.raises(ValueError, match="patterns: expected at least one name"):
        sparse_pattern_explorer(lambda *a, **k: None, lambda *a: None, [])
    with pytest.raises(ValueError, match="lengths: each must be a multiple of block = 16"):
        _sparse_explorer(lengths=(64, 100))
    with pytest.raises(ValueError, match="lengths: expected increasing"):
        _sparse_explorer(lengths=(128, 64))
    with pytest.raises(ValueError, match="pattern: expected one of"):
        _sparse_explorer(pattern="nope")
    with pytest.raises(ValueError, match="n: expected one of lengths"):
        _sparse_explorer(n=96)
    with pytest.raises(ValueError, match=r"window: expected an int in \[1, 16\]"):
        _sparse_explorer(window=17)
    with pytest.raises(ValueError, match="repeats: expected a positive int"):
        _sparse_explorer(repeats=0)

    def wrong_shape(pattern, n, window):
        return torch.ones(n, n + 1, dtype=torch.bool)

    with pytest.raises(ValueError, match=r"expected shape \(64, 64\), got \(64, 65\)"):
        sparse_pattern_explorer(wrong_shape, lambda *a: None, ["dense"], lengths=(64,), block=16)
    with pytest.raises(ValueError, match="expected a bool tensor, got torch.float32"):
        sparse_pattern_explorer(
            lambda p, n, window: torch.ones(n, n), lambda *a: None, ["x"], lengths=(64,), block=16
        )
    with pytest.raises(ValueError, match="every query needs at least one key"):
        sparse_pattern_explorer(
            lambda p, n, window: torch.zeros(n, n, dtype=torch.bool),
            lambda *a: None,
            ["x"],
            lengths=(64,),
            block=16,
        )
