"""Small ipywidgets the lessons use to explore attention interactively.

Every widget gets a CSS class (``add_class``) so browser tests and course themes can find it.
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch, Rectangle

from course_lib.core.attention_cost import min_seconds
from course_lib.core.retina import RetinaConfig, retina
from course_lib.core.shapes import expect_positive_int, expect_shape
from course_lib.viz.attention_views import show_token_graph
from course_lib.viz.glimpse_plots import DEFAULT_RETINA, show_glimpse, show_trajectory
from course_lib.viz.image_plots import draw_boxes, overlay_attention
from course_lib.viz.plots import show_heatmap


def explorer(
    controls: Sequence[widgets.ValueWidget],
    draw: Callable[[], None],
    css_class: str,
    caption: widgets.HTML | None = None,
) -> widgets.VBox:
    """The frame every explorer shares: the ``controls`` (in a row when there are several),
    an optional ``caption``, and an output area where ``draw()`` runs again each time a control
    changes. ``draw`` reads the controls' values, may update the caption, and draws one
    matplotlib figure, which replaces the one shown before. The box gets ``css_class`` (the
    browser tests find explorers by a class ending in ``-explorer``)."""
    plot = widgets.Output()

    def redraw(_: object = None) -> None:
        plot.clear_output(wait=True)
        with plot:
            draw()
            plt.show()

    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    row = controls[0] if len(controls) == 1 else widgets.HBox(list(controls))
    box = widgets.VBox([row, *([caption] if caption is not None else []), plot])
    box.add_class(css_class)
    return box


def alignment_explorer(
    sources: Sequence[Sequence[str]],
    outputs: Sequence[Sequence[str]],
    alignments: Sequence[torch.Tensor],
    captions: Sequence[str] | None = None,
    title: str = "Alignment",
    css_class: str = "alignment-explorer",
) -> widgets.VBox:
    """Pick an example with a slider and see its attention weights as a heatmap.

    ``sources[i]``: the source tokens (columns), ``outputs[i]``: the output tokens (rows),
    ``alignments[i]``: weights (len(outputs[i]), len(sources[i])); ``captions[i]`` is shown
    above the plot (e.g. the reference and whether the output is right).
    """
    n = len(sources)
    if not n:
        raise ValueError("sources: expected at least one example")
    for name, seq in (("outputs", outputs), ("alignments", alignments)):
        if len(seq) != n:
            raise ValueError(f"{name}: {len(seq)} entries for {n} sources")
    if captions is not None and len(captions) != n:
        raise ValueError(f"captions: {len(captions)} entries for {n} sources")
    slider = widgets.IntSlider(
        value=0, min=0, max=n - 1, description="example", continuous_update=False
    )
    caption = widgets.HTML()

    def draw() -> None:
        i = slider.value
        text = " &rarr; ".join(html.escape(" ".join(tokens)) for tokens in (sources[i], outputs[i]))
        extra = f"<br>{html.escape(captions[i])}" if captions is not None else ""
        caption.value = f"<b>#{i}</b>: {text}{extra}"
        width = max(4.0, 0.32 * len(sources[i]) + 1.5)
        height = max(2.5, 0.3 * len(outputs[i]) + 1.2)
        fig, ax = plt.subplots(figsize=(width, height))
        show_heatmap(
            alignments[i],
            x_labels=list(sources[i]),
            y_labels=list(outputs[i]),
            title=title,
            xlabel="source words",
            ylabel="output tokens",
            ax=ax,
            vmax=1.0,
        )
        fig.tight_layout()

    return explorer([slider], draw, css_class, caption)


def head_explorer(
    examples: Sequence[tuple[Sequence[str], Sequence[str], torch.Tensor]],
    title: str = "Attention",
    css_class: str = "head-explorer",
) -> widgets.VBox:
    """Pick an example, a layer and a head (or the mean over heads) and see that head's
    attention as a heatmap beside it drawn as a token graph.

    ``examples[i]`` = (key tokens S, query tokens T, weights (layers, heads, T, S)).
    """
    if not examples:
        raise ValueError("examples: expected at least one (keys, queries, weights) triple")
    layers, heads = examples[0][2].shape[:2]
    for i, (keys, queries, weights) in enumerate(examples):
        if weights.dim() != 4 or tuple(weights.shape) != (layers, heads, len(queries), len(keys)):
            raise ValueError(
                f"examples[{i}]: weights must be ({layers}, {heads}, {len(queries)}, "
                f"{len(keys)}), got {tuple(weights.shape)}"
            )
    example = widgets.IntSlider(
        value=0, min=0, max=len(examples) - 1, description="example", continuous_update=False
    )
    layer = widgets.Dropdown(
        options=[(f"layer {i + 1}", i) for i in range(layers)],
        value=layers - 1,
        description="layer",
    )
    head = widgets.Dropdown(
        options=[("mean of heads", -1)] + [(f"head {h + 1}", h) for h in range(heads)],
        value=-1,
        description="head",
    )

    def draw() -> None:
        keys, queries, weights = examples[example.value]
        w = weights[layer.value]  # (heads, T, S)
        w = w.mean(0) if head.value < 0 else w[head.value]  # (T, S)
        name = "mean of heads" if head.value < 0 else f"head {head.value + 1}"
        fig, (ax_map, ax_graph) = plt.subplots(
            1, 2, figsize=(9, 0.3 * max(len(keys), len(queries)) + 1.8)
        )
        show_heatmap(
            w,
            x_labels=list(keys),
            y_labels=list(queries),
            title=f"{title}: layer {layer.value + 1}, {name}",
            ax=ax_map,
            vmax=1.0,
        )
        show_token_graph(w, list(keys), list(queries), ax=ax_graph, title="as a graph")
        fig.tight_layout()

    return explorer([example, layer, head], draw, css_class)


def saliency_explorer(
    images: torch.Tensor,
    maps: dict[str, torch.Tensor],
    boxes: torch.Tensor | None = None,
    captions: Sequence[str] | None = None,
    css_class: str = "saliency-explorer",
) -> widgets.VBox:
    """Pick an image and a method and see the method's map over the image (and the object's
    box, with the map's peak). ``images`` (n, H, W); ``maps[method]`` (n, H, W) computed
    beforehand; ``boxes`` (n, 4) pixel (x0, y0, x1, y1)."""
    if images.dim() != 3 or not maps:
        raise ValueError("images, maps: expected images (n, H, W) and at least one method")
    for name, values in maps.items():
        if values.shape != images.shape:
            raise ValueError(
                f"maps[{name!r}]: expected shape {tuple(images.shape)}, got {tuple(values.shape)}"
            )
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"captions: {len(captions)} entries for {len(images)} images")
    example = widgets.IntSlider(
        value=0, min=0, max=len(images) - 1, description="image", continuous_update=False
    )
    method = widgets.Dropdown(options=list(maps), description="method")
    caption = widgets.HTML()

    def draw() -> None:
        i, name = example.value, method.value
        m = maps[name][i].abs()  # (H, W)
        caption.value = html.escape(captions[i]) if captions is not None else ""
        fig, ax = plt.subplots(figsize=(4.2, 3.6))
        overlay_attention(
            images[i], m / m.max().clamp(min=1e-12), ax=ax, title=f"{name}, image #{i}"
        )
        y, x = divmod(int(m.argmax()), m.shape[1])
        ax.plot(x + 0.5, y + 0.5, "c+", markersize=12, mew=2, label="peak")
        if boxes is not None:
            draw_boxes(ax, boxes[i], color="lime")
        ax.legend(loc="lower right", fontsize=9)
        fig.tight_layout()

    return explorer([example, method], draw, css_class, caption)


def glimpse_explorer(
    images: torch.Tensor,
    locations: torch.Tensor,
    step_probs: torch.Tensor,
    labels: torch.Tensor,
    config: RetinaConfig = DEFAULT_RETINA,
    css_class: str = "glimpse-explorer",
) -> widgets.VBox:
    """Step through a recurrent attention model's glimpses.

    images (n, S, S); locations (n, T, 2) normalised; step_probs (n, T, classes): the class
    probabilities after each glimpse; labels (n,). Sliders pick the image and the glimpse; the
    figure shows the path so far with every scale of the current glimpse, what the retina
    saw, and what the model believes after that glimpse.
    """
    sizes = expect_shape(locations, "n, T, 2", name="locations")
    expect_shape(step_probs, "n, T, classes", name="step_probs")
    n, steps = sizes["n"], sizes["T"]
    if not n:
        raise ValueError("images: expected at least one image")
    example = widgets.IntSlider(
        value=0, min=0, max=n - 1, description="image", continuous_update=False
    )
    step = widgets.IntSlider(
        value=1, min=1, max=steps, description="glimpse", continuous_update=False
    )
    caption = widgets.HTML()

    def draw() -> None:
        i, t = example.value, step.value
        probs = step_probs[i, t - 1]  # (classes,)
        guess = int(probs.argmax())
        caption.value = (
            f"<b>image {i}</b>, label {int(labels[i])}: after glimpse {t} of "
            f"{steps} the model says <b>{guess}</b> (p = {float(probs[guess]):.2f})"
        )
        glimpse = retina(images[i : i + 1], locations[i, t - 1 : t], config)[0]  # (scales, p, p)
        fig = plt.figure(figsize=(10, 3.2))
        grid = fig.add_gridspec(
            2, 2 + config.scales, width_ratios=[2.2] + [1] * config.scales + [2.2]
        )
        show_trajectory(
            fig.add_subplot(grid[:, 0]),
            images[i],
            locations[i],
            config,
            upto=t,
            title=f"glimpses 1..{t}",
            scales_at=t - 1,
        )
        show_glimpse(
            [fig.add_subplot(grid[:, 1 + k]) for k in range(config.scales)], glimpse, config
        )
        bars = fig.add_subplot(grid[:, -1])
        colours = ["tab:green" if c == int(labels[i]) else "tab:gray" for c in range(len(probs))]
        bars.bar(range(len(probs)), probs.numpy(), color=colours)
        bars.set(
            title="belief after this glimpse",
            xlabel="class",
            ylabel="probability",
            ylim=(0, 1),
            xticks=range(len(probs)),
        )
        fig.tight_layout()

    return explorer([example, step], draw, css_class, caption)


#: Colours of the mask view: a skipped tile, a computed tile's pair outside the pattern (work
#: done and thrown away), a pair the pattern scores.
_TILE_COLOURS = ("white", "#c6dbef", "#08519c")


def sparse_pattern_explorer(
    mask_fn: Callable[..., torch.Tensor],
    sparse_attention: Callable[..., torch.Tensor],
    patterns: Sequence[str],
    lengths: Sequence[int] = (256, 512, 1024, 2048, 4096),
    pattern: str | None = None,
    n: int | None = None,
    window: int = 8,
    max_window: int = 64,
    block: int = 32,
    heads: int = 1,
    d: int = 32,
    repeats: int = 2,
    corner: int = 256,
    seed: int = 0,
    css_class: str = "sparse-pattern-explorer",
) -> widgets.VBox:
    """Pick a sparse attention pattern, a sequence length ``n`` and a window and see the mask,
    how much of it is scored, which (block, block) tiles must be computed, and what that costs.

    ``mask_fn(pattern, n, window=window)`` -> (n, n) bool mask (``True`` = query i scores key
    j), e.g. lesson 07's ``pattern_mask``; ``sparse_attention(q, k, v, mask, block)`` ->
    (..., n, d) computes only the tiles holding a pair, e.g. ``block_sparse_attention``
    (they come in as arguments because ``viz`` does not import a part's folder).
    ``patterns``: the dropdown's names; ``lengths``: the lengths offered, each a multiple of
    ``block``; ``pattern``, ``n``: shown first (default: the first pattern, the middle length).

    The figure shows the mask (for ``n`` > ``corner`` its first ``corner`` x ``corner``
    queries and keys, so single pairs stay visible) over its tile grid, and beside it every
    tile of the whole n x n mask. The caption gives the pairs scored, the density, the tiles
    computed, and the time (fastest of ``repeats``, on one thread by its CPU clock, random q, k,
    v (1, ``heads``, n, ``d``)) of dense attention (``F.scaled_dot_product_attention``), the
    same with the mask (still all n^2 pairs) and ``sparse_attention``, with the largest
    difference between the last two outputs.
    Results are kept per (pattern, n, window), so going back to a setting is instant.
    """
    patterns = list(patterns)
    lengths = list(lengths)
    if not patterns or len(set(patterns)) != len(patterns):
        raise ValueError(f"patterns: expected at least one name, no repeats, got {patterns!r}")
    expect_positive_int(block, "block")
    if not lengths:
        raise ValueError("lengths: expected at least one sequence length")
    for length in lengths:
        expect_positive_int(length, "lengths[...]")
        if length % block:
            raise ValueError(f"lengths: each must be a multiple of block = {block}, got {length}")
    if lengths != sorted(set(lengths)):
        raise ValueError(f"lengths: expected increasing lengths without repeats, got {lengths}")
    pattern = patterns[0] if pattern is None else pattern
    if pattern not in patterns:
        raise ValueError(f"pattern: expected one of {patterns}, got {pattern!r}")
    n = lengths[len(lengths) // 2] if n is None else n
    if n not in lengths:
        raise ValueError(f"n: expected one of lengths {lengths}, got {n!r}")
    expect_positive_int(max_window, "max_window")
    expect_positive_int(window, "window", maximum=max_window)
    for value, name in ((heads, "heads"), (d, "d"), (repeats, "repeats"), (corner, "corner")):
        expect_positive_int(value, name)

    choose_pattern = widgets.Dropdown(options=patterns, value=pattern, description="pattern")
    choose_n = widgets.Dropdown(
        options=[(f"n = {length}", length) for length in lengths], value=n, description="length"
    )
    choose_window = widgets.IntSlider(
        value=window, min=1, max=max_window, description="window", continuous_update=False
    )
    caption = widgets.HTML()
    views: dict[tuple[str, int, int], dict] = {}  # (pattern, n, window) -> numbers and images
    costs: dict[tuple[int, str], dict[str, float]] = {}  # (n, the mask's digest) -> times

    def make_mask(name: str, length: int, w: int) -> torch.Tensor:
        mask = mask_fn(name, length, window=w)
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise ValueError(
                f"mask_fn({name!r}, {length}, window={w}): expected a bool tensor, got "
                f"{getattr(mask, 'dtype', type(mask).__name__)}"
            )
        if tuple(mask.shape) != (length, length):
            raise ValueError(
                f"mask_fn({name!r}, {length}, window={w}): expected shape ({length}, {length}), "
                f"got {tuple(mask.shape)}"
            )
        if not mask.any(-1).all():
            raise ValueError(
                f"mask_fn({name!r}, {length}, window={w}): every query needs at least one key"
            )
        return mask

    timing = {"repeats": repeats, "warmup": False, "clock": "thread"}

    def measure(mask: torch.Tensor) -> dict[str, float]:
        length = mask.shape[0]
        g = torch.Generator().manual_seed(seed)
        q, k, v = torch.randn(3, 1, heads, length, d, generator=g).unbind(0)  # (1, h, n, d)

        def masked(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

        def sparse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return sparse_attention(q, k, v, mask, block)

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one thread, timed by its own clock: steady on a busy machine
        try:
            with torch.no_grad():  # the first calls check the result and warm up
                error = (sparse(q, k, v) - masked(q, k, v)).abs().max().item()
                F.scaled_dot_product_attention(q, k, v)
            return {
                "dense": min_seconds(F.scaled_dot_product_attention, q, k, v, **timing),
                "masked": min_seconds(masked, q, k, v, **timing),
                "sparse": min_seconds(sparse, q, k, v, **timing),
                "error": error,
            }
        finally:
            torch.set_num_threads(threads)

    def view(name: str, length: int, w: int) -> dict:
        key = (name, length, w)
        if key in views:
            return views[key]
        mask = make_mask(name, length, w)  # (n, n)
        b = length // block
        layout = mask.reshape(b, block, b, block).any(3).any(1)  # (b, b) tiles holding a pair
        c = min(length, corner)
        cb = math.ceil(c / block)
        inside = layout[:cb, :cb].repeat_interleave(block, 0).repeat_interleave(block, 1)
        shown = torch.where(mask[:c, :c], 2, inside[:c, :c].long())  # (c, c) 0 / 1 / 2
        digest = hashlib.sha1(mask.numpy().tobytes()).hexdigest()
        if (length, digest) not in costs:
            costs[length, digest] = measure(mask)
        pairs, tiles = int(mask.sum()), int(layout.sum())
        views[key] = {
            "pairs": pairs,
            "density": pairs / length**2,
            "tiles": tiles,
            "n_tiles": b * b,
            "useful": pairs / (tiles * block * block),
            "shown": shown,
            "layout": layout,
            **costs[length, digest],
        }
        return views[key]

    def draw() -> None:
        name, length, w = choose_pattern.value, choose_n.value, choose_window.value
        s = view(name, length, w)
        ms = {what: 1e3 * s[what] for what in ("dense", "masked", "sparse")}
        caption.value = (
            f"<b>{html.escape(name)}, n = {length}, window = {w}</b>: "
            f"<b>{s['pairs']:,}</b> of {length * length:,} pairs scored "
            f"(density <b>{s['density']:.2%}</b>); "
            f"<b>{s['tiles']:,}</b> of {s['n_tiles']:,} ({block} &times; {block}) tiles computed "
            f"(<b>{s['tiles'] / s['n_tiles']:.1%}</b>), {s['useful']:.0%} of their pairs in the "
            "pattern."
            f"<br>Measured on one thread (fastest of {repeats}, {heads} head(s), d = {d}): "
            f"dense {ms['dense']:.2f} ms &middot; dense with the mask {ms['masked']:.2f} ms "
            f"&middot; block-sparse <b>{ms['sparse']:.2f} ms</b> "
            f"({ms['sparse'] / max(ms['dense'], 1e-9):.2g}&times; dense's time; "
            f"largest difference from the masked output {s['error']:.1e})."
        )
        c = s["shown"].shape[0]
        fig, (ax_mask, ax_tiles) = plt.subplots(1, 2, figsize=(10, 5))
        ax_mask.imshow(
            s["shown"].numpy(),
            cmap=ListedColormap(_TILE_COLOURS),
            vmin=0,
            vmax=2,
            interpolation="nearest",
            extent=(0, c, c, 0),
        )
        for edge in range(block, c, block):  # the tile grid
            ax_mask.axhline(edge, color="0.75", linewidth=0.5)
            ax_mask.axvline(edge, color="0.75", linewidth=0.5)
        where = "the whole mask" if c == length else f"its first {c} × {c} (of {length} × {length})"
        ax_mask.set_title(f"{name}, n = {length}: the mask\n{where}", fontsize=11)
        ax_mask.legend(
            handles=[
                Patch(facecolor=_TILE_COLOURS[2], label="pair scored"),
                Patch(facecolor=_TILE_COLOURS[1], label="in a computed tile, masked out"),
                Patch(facecolor=_TILE_COLOURS[0], edgecolor="0.6", label="tile skipped"),
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=2,
            fontsize=9,
            frameon=False,
        )
        ax_tiles.imshow(
            s["layout"].numpy(),
            cmap=ListedColormap([_TILE_COLOURS[0], "#4292c6"]),
            vmin=0,
            vmax=1,
            interpolation="nearest",
            extent=(0, length, length, 0),
        )
        if c < length:
            ax_tiles.add_patch(
                Rectangle(
                    (0, 0), c, c, fill=False, edgecolor="tab:red", linewidth=1.5, label="shown left"
                )
            )
            ax_tiles.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=9)
        ax_tiles.set_title(
            f"{name}, n = {length}: the tiles computed\n"
            f"{s['tiles']:,} of {s['n_tiles']:,} ({block} × {block} each)",
            fontsize=11,
        )
        for ax in (ax_mask, ax_tiles):
            ax.set_xlabel("key position", fontsize=10)
            ax.set_ylabel("query position", fontsize=10)
            ax.tick_params(labelsize=9)
        fig.tight_layout()

    return explorer([choose_pattern, choose_n, choose_window], draw, css_class, caption)
