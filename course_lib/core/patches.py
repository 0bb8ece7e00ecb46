"""An image as a sequence of tokens: non-overlapping square patches, row-major.

ViT-lite (:mod:`course_lib.vision.vit`) embeds each patch as a token; the faithfulness tests
(:mod:`course_lib.explain.faithfulness`) score and hide the same patches.

Shapes: images (batch, C, H, W); patches (batch, N, C * p * p) with N = (H / p) * (W / p).
"""

from __future__ import annotations

import torch

from course_lib.core.shapes import expect_positive_int, expect_shape


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Cut (batch, C, H, W) into non-overlapping ``patch`` x ``patch`` squares.

    Returns (batch, N, C * patch * patch): patches in row-major order (left to right, then top
    to bottom); inside a patch the values are ordered channel, row, column, so this equals
    ``F.unfold(images, patch, stride=patch).transpose(1, 2)``.
    """
    sizes = expect_shape(images, "batch, C, H, W", name="images")
    expect_positive_int(patch, "patch")
    for dim in ("H", "W"):
        if sizes[dim] % patch:
            raise ValueError(f"images: {dim} = {sizes[dim]} is not a multiple of patch = {patch}")
    b, c, h, w = images.shape
    grid = images.reshape(b, c, h // patch, patch, w // patch, patch)  # (b, C, gh, p, gw, p)
    grid = grid.permute(0, 2, 4, 1, 3, 5)  # (b, gh, gw, C, p, p)
    return grid.reshape(b, (h // patch) * (w // patch), c * patch * patch)  # (b, N, C*p*p)
