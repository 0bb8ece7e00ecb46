"""How big a figure's text is when projected: a lesson figure is shown at most
``SLIDE_WIDTH_PX`` wide on a slide, so a wide figure shrinks and its text with it.

``slide_points(fig)`` lists every visible text of a figure with its size in points as shown on
a slide; ``small_text(fig)`` keeps those under ``MIN_POINTS`` (what the course's figures must
not have).
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.text import Text

SLIDE_WIDTH_PX = 1280  # a projected slide, in pixels
MIN_POINTS = 9.0  # the smallest text a learner at the back can read


def slide_scale(fig: Figure, slide_px: int = SLIDE_WIDTH_PX) -> float:
    """How much ``fig`` shrinks on a slide ``slide_px`` wide: min(1, slide_px / its width in
    pixels when saved with a tight bounding box, as a notebook shows it)."""
    if slide_px <= 0:
        raise ValueError(f"slide_px: expected a positive number of pixels, got {slide_px}")
    width_px = fig.get_tightbbox(fig.canvas.get_renderer()).width * fig.dpi
    return min(1.0, slide_px / width_px)


def slide_points(fig: Figure, slide_px: int = SLIDE_WIDTH_PX) -> list[tuple[str, float]]:
    """Every visible, non-empty text of ``fig`` (titles, axis and tick labels, legends, colour
    bars, annotations) with its size in points as shown on a slide ``slide_px`` wide."""
    fig.canvas.draw()  # lays out ticks, so the tick labels exist and are final
    scale = slide_scale(fig, slide_px)
    undrawn = _ticks_out_of_view(fig)
    shown = []
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and id(text) not in undrawn:
            shown.append((text.get_text(), text.get_fontsize() * scale))
    return shown


def small_text(
    fig: Figure, min_points: float = MIN_POINTS, slide_px: int = SLIDE_WIDTH_PX
) -> list[tuple[str, float]]:
    """The texts of ``fig`` smaller than ``min_points`` on a slide (empty: all readable)."""
    return [(text, size) for text, size in slide_points(fig, slide_px) if size < min_points]


def _ticks_out_of_view(fig: Figure) -> set[int]:
    """The ids of tick labels outside their axis' view (matplotlib keeps but never draws them)."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low <= tick.get_loc() <= high:
                    hidden.update((id(tick.label1), id(tick.label2)))
    return hidden
