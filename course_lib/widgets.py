"""Small ipywidgets the lessons use to explore attention interactively.

Every widget gets a CSS class (``add_class``) so browser tests and course themes can find it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from .plots import show_heatmap


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
    plot = widgets.Output()

    def draw(i: int) -> None:
        text = " &rarr; ".join(html.escape(" ".join(tokens)) for tokens in (sources[i], outputs[i]))
        extra = f"<br>{html.escape(captions[i])}" if captions is not None else ""
        caption.value = f"<b>#{i}</b>: {text}{extra}"
        plot.clear_output(wait=True)
        with plot:
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
            plt.show()

    slider.observe(lambda change: draw(change["new"]), names="value")
    draw(0)
    box = widgets.VBox([slider, caption, plot])
    box.add_class(css_class)
    return box
