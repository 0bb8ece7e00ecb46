"""Faithfulness tests: deletion by patches, rank agreement, pointing game, digit boxes."""

import pytest
import torch
from torch import nn

from course_lib.data.canvases import INK, TRANSLATED, placed_split
from course_lib.data.digits import digit_split
from course_lib.explain.faithfulness import (
    deletion_curve,
    deletion_probabilities,
    digit_boxes,
    mask_patches,
    patch_scores,
    pointing_hits,
    random_scores,
    spearman,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_patch_scores_sum_absolute_values_per_patch_in_row_major_order():
    maps = torch.zeros(1, 4, 4)
    maps[0, 0, 3] = -2.0  # top-right patch (index 1 of 4)
    maps[0, 3, 0] = 1.0  # bottom-left (index 2)
    assert torch.equal(patch_scores(maps, 2), torch.tensor([[0.0, 2.0, 1.0, 0.0]]))


def test_mask_patches_hides_exactly_the_top_k():
    images = torch.ones(2, 1, 4, 4)
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.0], [1.0, 0.0, 0.0, 2.0]])
    masked = mask_patches(images, scores, k=2, patch=2)
    assert masked[0, 0, :2, 2:].eq(0).all() and masked[0, 0, 2:, :2].eq(0).all()
    assert masked[0, 0, :2, :2].eq(1).all() and masked.sum() == 16
    assert torch.equal(mask_patches(images, scores, k=0, patch=2), images)
    with pytest.raises(ValueError, match=r"k: expected an int in \[0, 4\]"):
        mask_patches(images, scores, k=5, patch=2)


def test_deletion_curve_falls_fastest_for_the_patch_the_model_reads():
    class ReadsTopLeft(nn.Module):  # class 0 logit = brightness of the top-left patch
        def forward(self, x):
            return torch.stack([x[:, 0, :2, :2].sum((1, 2)), torch.zeros(len(x))], dim=1)

    images, labels = torch.ones(3, 1, 4, 4), torch.zeros(3, dtype=torch.long)
    right = torch.tensor([[1.0, 0, 0, 0]]).expand(3, 4)
    wrong = torch.tensor([[0, 0, 0, 1.0]]).expand(3, 4)
    model = ReadsTopLeft()
    fall_right = deletion_curve(model, images, labels, right, 2, [0, 1])
    fall_wrong = deletion_curve(model, images, labels, wrong, 2, [0, 1])
    assert fall_right[0] == fall_wrong[0] and fall_right[1] == pytest.approx(0.5)
    assert fall_wrong[1] == fall_wrong[0] > 0.98
    assert random_scores(2, 4, seed=1).shape == (2, 4)


def test_deletion_probabilities_per_image_average_to_the_curve():
    class ReadsTopLeft(nn.Module):  # class 0 logit = brightness of the top-left patch
        def forward(self, x):
            return torch.stack([x[:, 0, :2, :2].sum((1, 2)), torch.zeros(len(x))], dim=1)

    images, labels = torch.ones(2, 1, 4, 4), torch.zeros(2, dtype=torch.long)
    scores = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1.0]])  # image 0 hides what is read
    probs = deletion_probabilities(ReadsTopLeft(), images, labels, scores, 2, [0, 1])
    assert probs.shape == (2, 2)  # (len(ks), images)
    assert probs[1, 0] == pytest.approx(0.5) and probs[1, 1] == probs[0, 1] > 0.98
    curve = deletion_curve(ReadsTopLeft(), images, labels, scores, 2, [0, 1])
    assert torch.allclose(curve, probs.mean(1))


def test_spearman_of_equal_reversed_and_monotone_rankings():
    a = torch.tensor([[1.0, 5.0, 2.0, 9.0]])
    assert spearman(a, a).item() == pytest.approx(1.0)
    assert spearman(a, -a).item() == pytest.approx(-1.0)
    assert spearman(a, a.exp()).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="b: expected the shape of a"):
        spearman(a, a[:, :3])


def test_pointing_hits_checks_the_peak_against_the_box():
    maps = torch.zeros(2, 10, 10)
    maps[0, 2, 7] = 1.0  # peak at pixel centre x = 7.5, y = 2.5
    maps[1, 9, 0] = 1.0  # x = 0.5, y = 9.5
    boxes = torch.tensor([[6.0, 1.0, 9.0, 4.0], [6.0, 1.0, 9.0, 4.0]])
    assert pointing_hits(maps, boxes).tolist() == [True, False]


def test_digit_boxes_hold_the_ink_of_placed_digits():
    placed = placed_split("test", TRANSLATED, limit=20)
    digits = digit_split("test").images[:20]
    boxes = digit_boxes(digits, placed.corners)
    for image, (x0, y0, x1, y1) in zip(placed.images, boxes.long().tolist(), strict=True):
        ink = image > INK  # no clutter: every ink pixel is the digit's
        assert ink[y0:y1, x0:x1].sum() == ink.sum() > 0
        assert 0 < x1 - x0 <= 28 and 0 < y1 - y0 <= 28
