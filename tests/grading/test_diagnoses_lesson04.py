"""Lesson 04's exercises name the common mistakes of the instructor notes, in the notebook and
in the grader alike."""

import pytest

from tests.grading.diagnoses import Mistake, check_diagnosis

AFFINE = """
def affine_grid(theta, size, align_corners=False):
    batch, _, height, width = size

    def centres(n):
        if n == 1:
            return torch.zeros(1, dtype=theta.dtype)
        steps = torch.arange(n, dtype=theta.dtype)
        return {centres}

    ys, xs = torch.meshgrid(centres(height), centres(width), indexing="ij")
    base = torch.stack([{first}, {second}, torch.ones_like(xs)], dim=-1)
    return torch.einsum("hwk,bjk->bhwj", base, theta)
"""


def affine(
    centres="steps * 2 / (n - 1) - 1 if align_corners else (2 * steps + 1) / n - 1",
    first="xs",
    second="ys",
):
    return AFFINE.format(centres=centres, first=first, second=second)


ALIGNED = "(x + 1) / 2 * (width - 1), (y + 1) / 2 * (height - 1)"
UNALIGNED = "((x + 1) * width - 1) / 2, ((y + 1) * height - 1) / 2"
BILINEAR = """
def bilinear_sample(image, grid, align_corners=False):
    channels, height, width = image.shape
    x, y = {xy}
    if align_corners:
        u, v = {aligned}
    else:
        u, v = {unaligned}
    u0, v0 = u.floor(), v.floor()
    a, b = u - u0, v - v0
    out = image.new_zeros(channels, *grid.shape[:2])
    for du, dv, weight in ((0, 0, (1 - a) * (1 - b)), (1, 0, a * (1 - b)),
                           (0, 1, (1 - a) * b), (1, 1, a * b)):
        col, row = u0 + du, v0 + dv
        inside = (col >= 0) & (col <= width - 1) & (row >= 0) & (row <= height - 1)
        values = image[:, row.clamp(0, height - 1).long(), col.clamp(0, width - 1).long()]
        out = out + weight * values{zeroed}
    return out
"""


def bilinear(
    xy="grid[..., 0], grid[..., 1]", aligned=ALIGNED, unaligned=UNALIGNED, zeroed=" * inside"
):
    return BILINEAR.format(xy=xy, aligned=aligned, unaligned=unaligned, zeroed=zeroed)


GRID = """
def attend_grid(score, hidden, features):
    batch, d, g_h, g_w = features.shape
    cells = {cells}
    weights = torch.softmax(score(hidden[:, None], cells), dim=-1)
    context = (weights @ cells)[:, 0]
    return context, weights.reshape(batch, g_h, g_w)
"""
PATCHIFY = """
def patchify(images, patch):
    b, c, h, w = images.shape
    for name, size in (("H", h), ("W", w)):
        if size % patch:
            raise ValueError(f"{{name}} = {{size}} is not a multiple of patch = {{patch}}")
    n = (h // patch) * (w // patch)
    return {body}
"""
CHANNEL_LAST = (
    "images.reshape(b, c, h // patch, patch, w // patch, patch)"
    ".permute(0, 2, 4, 3, 5, 1).reshape(b, n, c * patch * patch)"
)
MISTAKES = [
    Mistake("04_affine_grid", "affine_grid_answer",
            affine(centres="torch.linspace(-1, 1, n, dtype=theta.dtype)"),
            "affine_grid_identity", "ignoring align_corners"),
    Mistake("04_affine_grid", "affine_grid_answer", affine(first="ys", second="xs"),
            "affine_grid_identity", "putting (y, x) instead of (x, y)"),
    Mistake("04_bilinear_sample", "bilinear_answer", bilinear(xy="grid[..., 1], grid[..., 0]"),
            "bilinear_centres", "reading the grid as (y, x)"),
    Mistake("04_bilinear_sample", "bilinear_answer", bilinear(aligned=UNALIGNED),
            "bilinear_centres", "the align_corners=False formula for both"),
    Mistake("04_bilinear_sample", "bilinear_answer", bilinear(unaligned=ALIGNED),
            "bilinear_random", "the align_corners=True formula for both"),
    Mistake("04_bilinear_sample", "bilinear_answer", bilinear(zeroed=""),
            "bilinear_random", "clamping the neighbours' indices at the border"),
    Mistake("04_bilinear_sample", "bilinear_answer", bilinear(zeroed=""),
            "bilinear_border_grad", "without zeroing those outside the image"),
    Mistake("04_grid_attention", "grid_attention_answer",
            GRID.format(cells="features.transpose(2, 3).flatten(2).transpose(1, 2)"),
            "grid_attention_weights", "flattening the grid column by column",
            hidden_only=("grid_attention_context",)),
    Mistake("04_grid_attention", "grid_attention_answer",
            GRID.format(cells="features.transpose(2, 3).flatten(2).transpose(1, 2)"),
            "grid_attention_place", "flattening the grid column by column",
            hidden_only=("grid_attention_context",)),
    Mistake("04_patchify", "patchify_answer",
            PATCHIFY.format(body="images.reshape(b, n, c * patch * patch)"),
            "patchify_small", "a plain reshape to (batch, N, C * p * p)"),
    Mistake("04_patchify", "patchify_answer", PATCHIFY.format(body=CHANNEL_LAST),
            "patchify_batch", "putting the channel last inside a patch"),
]  # fmt: skip


@pytest.mark.parametrize("case", MISTAKES, ids=lambda m: f"{m.test_id}-{m.names[:30]}")
def test_the_mistake_is_named_in_the_notebook_and_the_grader(grader, tmp_path, case):
    check_diagnosis(grader, tmp_path, case)
