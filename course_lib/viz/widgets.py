"""Small ipywidgets the lessons use to explore attention interactively.

Every widget gets a CSS class (``add_class``) so browser tests and course themes can find it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from course_lib.core.retina import RetinaConfig, retina
from course_lib.core.shapes import expect_shape
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
        ax.legend(loc="lower right", fontsize=7)
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
