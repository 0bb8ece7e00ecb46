"""The pointing game (Zhang et al., 2016): does an attention or saliency map peak inside the
object's box? Lesson 04 scores the captioner's attention with it (per digit), lesson 06 the
explanations of a classifier (:mod:`course_lib.explain.faithfulness`).

Shapes: maps (..., G, G) over a square image of ``image_size`` pixels; points (..., 2) pixel
(x, y); boxes (..., 4) pixel (x0, y0, x1, y1) as the canvases of :mod:`course_lib.data.digits`
give them, pixel i spanning [i, i + 1].
"""

from __future__ import annotations

import torch


def attention_peaks(maps: torch.Tensor, image_size: int, refine: bool = True) -> torch.Tensor:
    """Where maps (..., G, G) peak: (x, y) pixels of an ``image_size`` image -> (..., 2).

    The peak is the cell with the largest weight. A cell is ``image_size / G`` px wide, so its
    centre alone is a coarse answer; with ``refine`` the peak moves to the weighted mean position
    of the 3x3 cells around it (how pose estimators decode keypoint heatmaps).
    """
    sizes = maps.shape
    if maps.dim() < 2 or sizes[-1] != sizes[-2]:
        raise ValueError(f"maps: expected (..., G, G), got shape {tuple(sizes)}")
    g = sizes[-1]
    flat = maps.reshape(-1, g, g)  # (n, G, G)
    best = flat.flatten(1).argmax(-1)  # (n,)
    row, col = (best // g).float(), (best % g).float()  # (n,) the peak cell
    if refine:
        offsets = torch.tensor([-1.0, 0.0, 1.0])
        rows = (row[:, None] + offsets).clamp(0, g - 1)  # (n, 3) neighbour rows (edge: repeated)
        cols = (col[:, None] + offsets).clamp(0, g - 1)  # (n, 3)
        valid_r = (row[:, None] + offsets >= 0) & (row[:, None] + offsets <= g - 1)  # (n, 3)
        valid_c = (col[:, None] + offsets >= 0) & (col[:, None] + offsets <= g - 1)
        n = torch.arange(len(flat))[:, None, None]
        window = flat[n, rows.long()[:, :, None], cols.long()[:, None, :]]  # (n, 3, 3)
        window = window * (valid_r[:, :, None] & valid_c[:, None, :])  # outside the grid: 0
        total = window.sum((1, 2)).clamp(min=1e-12)  # (n,)
        row = (window.sum(2) * rows).sum(1) / total  # (n,) weighted mean row
        col = (window.sum(1) * cols).sum(1) / total  # (n,) weighted mean column
    cell = image_size / g
    peaks = torch.stack([(col + 0.5) * cell, (row + 0.5) * cell], dim=-1)  # (n, 2) x, y in px
    return peaks.reshape(*sizes[:-2], 2)


def in_boxes(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Whether each point (..., 2) pixel (x, y) lies in its box (..., 4) pixel
    (x0, y0, x1, y1), edges included: (...) bool. The test of every pointing game."""
    x, y = points[..., 0], points[..., 1]
    return (boxes[..., 0] <= x) & (x <= boxes[..., 2]) & (boxes[..., 1] <= y) & (y <= boxes[..., 3])
