"""Is an explanation faithful? Tests that put a saliency or attention map to work.

- **deletion**: hide the k patches a map ranks highest and watch the model's probability for
  its class fall; a faithful map makes it fall faster than a random ranking does;
- **rank agreement**: Spearman correlation between two rankings of the same tokens (e.g.
  attention vs integrated gradients, as Jain & Wallace, 2019, asked "is attention explanation?");
- **pointing game** (Zhang et al., 2016): is a map's peak inside the object's box?

Shapes: images (batch, C, S, S); patch scores (batch, N) over the ``patch`` x ``patch`` squares
of :func:`course_lib.core.patches.patchify` (row-major); maps (batch, S, S); boxes (batch, 4) pixel
(x0, y0, x1, y1), pixel i spanning [i, i + 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_lib.core.patches import patchify
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape
from course_lib.data.canvases import ink_box
from course_lib.data.pointing import attention_peaks, in_boxes


def patch_scores(maps: torch.Tensor, patch: int) -> torch.Tensor:
    """Total absolute value of a pixel map inside each patch: (batch, S, S) -> (batch, N)."""
    expect_shape(maps, "batch, H, W", name="maps")
    return patchify(maps.abs()[:, None], patch).sum(-1)  # (batch, N)


def mask_patches(
    images: torch.Tensor, scores: torch.Tensor, k: int, patch: int, fill: float = 0.0
) -> torch.Tensor:
    """A copy of ``images`` with the ``k`` highest-scoring patches of each image set to
    ``fill``. ``scores`` (batch, N) ranks the patches (ties broken by position)."""
    sizes = expect_shape(images, "batch, C, H, W", name="images")
    n = expect_shape(scores, "batch, N", name="scores")
    expect_match("images and scores batch sizes", {"images": sizes["batch"], "scores": n["batch"]})
    per_side = sizes["W"] // patch
    if patchify(images[:1], patch).shape[1] != n["N"]:
        raise ValueError(f"scores: expected one score per {patch}x{patch} patch, got {n['N']}")
    expect_positive_int(k, "k", minimum=0, maximum=n["N"])
    top = scores.argsort(dim=1, descending=True, stable=True)[:, :k]  # (batch, k)
    hidden = torch.zeros(sizes["batch"], n["N"], dtype=torch.bool)
    hidden[torch.arange(sizes["batch"])[:, None], top] = True  # (batch, N)
    grid = hidden.reshape(-1, 1, sizes["H"] // patch, per_side).float()  # (batch, 1, gh, gw)
    pixels = F.interpolate(grid, scale_factor=patch, mode="nearest").bool()  # (batch, 1, H, W)
    return images.masked_fill(pixels, fill)  # (batch, C, H, W)


@torch.no_grad()
def deletion_probabilities(
    model: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    labels: torch.Tensor,
    scores: torch.Tensor,
    patch: int,
    ks: Sequence[int],
    fill: float = 0.0,
) -> torch.Tensor:
    """Probability of the true class of each image after hiding its top-k patches, for each
    k in ``ks``: (len(ks), batch). Its mean over images is :func:`deletion_curve`; the spread
    over images gives the curve's uncertainty."""
    expect_shape(labels, "batch", name="labels")
    rows = []
    for k in ks:
        masked = mask_patches(images, scores, k, patch, fill)  # (batch, C, H, W)
        probs = model(masked).softmax(-1)  # (batch, classes)
        rows.append(probs.gather(1, labels[:, None])[:, 0])  # (batch,)
    return torch.stack(rows)  # (len(ks), batch)


def deletion_curve(
    model: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    labels: torch.Tensor,
    scores: torch.Tensor,
    patch: int,
    ks: Sequence[int],
    fill: float = 0.0,
) -> torch.Tensor:
    """Mean probability of the true class after hiding the top-k patches, for each k in
    ``ks``: (len(ks),). A steeper fall means the ranking found what the model uses."""
    return deletion_probabilities(model, images, labels, scores, patch, ks, fill).mean(1)


def random_scores(batch: int, n: int, seed: int = 0) -> torch.Tensor:
    """A random ranking of ``n`` patches per image (the baseline of a deletion test)."""
    return torch.rand(batch, n, generator=torch.Generator().manual_seed(seed))  # (batch, n)


def _ranks(x: torch.Tensor) -> torch.Tensor:
    return x.argsort(dim=-1).argsort(dim=-1).to(torch.float64)  # (batch, N) 0..N-1


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation of each row of ``a`` and ``b`` (batch, N) -> (batch,)
    (ties ranked by position)."""
    sa = expect_shape(a, "batch, N", name="a")
    expect_shape(b, "batch, N", name="b")
    if sa["N"] < 2 or a.shape != b.shape:
        raise ValueError(
            f"b: expected the shape of a, (batch, N >= 2), got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(-1, keepdim=True), rb - rb.mean(-1, keepdim=True)
    return (ra * rb).sum(-1) / (ra.norm(dim=-1) * rb.norm(dim=-1))  # (batch,)


def pointing_hits(maps: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Pointing game: whether each map's peak pixel lies in its box: (batch,) bool.
    The peak is found by :func:`course_lib.data.pointing.attention_peaks` (no refinement)."""
    sizes = expect_shape(maps, "batch, S, S2", name="maps")
    expect_shape(boxes, "batch, 4", name="boxes")
    expect_match("maps and boxes batch sizes", {"maps": sizes["batch"], "boxes": len(boxes)})
    peaks = attention_peaks(maps, sizes["S"], refine=False)  # (batch, 2) pixel centres x, y
    return in_boxes(peaks, boxes)  # (batch,)


def digit_boxes(digits: torch.Tensor, corners: torch.Tensor) -> torch.Tensor:
    """Tight ink boxes of 28x28 ``digits`` (n, 28, 28) pasted with their top-left corner at
    ``corners`` (n, 2) pixel (x, y), as :func:`course_lib.data.canvases.place_digits` does:
    (n, 4) float (x0, y0, x1, y1) on the canvas (the ink threshold of
    :mod:`course_lib.data.digits`)."""
    sizes = expect_shape(digits, "n, 28, 28", name="digits")
    expect_shape(corners, "n, 2", name="corners")
    expect_match("digits and corners counts", {"digits": sizes["n"], "corners": len(corners)})
    ink = torch.tensor([ink_box(image) for image in digits], dtype=torch.float32)  # (n, 4)
    return ink + corners.float().repeat(1, 2)  # (n, 4) shifted onto the canvas
