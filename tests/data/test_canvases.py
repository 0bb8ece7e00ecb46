"""Translated and cluttered digit canvases built on course_lib.data.digits: seeded, the digit is
where the record says, clutter comes from other digits, bad configs are refused."""

import pytest
import torch

from course_lib.data.canvases import (
    CLUTTERED,
    TRANSLATED,
    PlacementConfig,
    place_digits,
    placed_split,
)
from course_lib.data.digits import Digits, digit_split


@pytest.fixture(scope="module")
def digits():
    d = digit_split("train")
    return Digits(d.images[:64], d.labels[:64])


def test_translated_digit_is_at_its_corner_and_nothing_else(digits):
    placed = place_digits(digits, TRANSLATED, seed=3)
    assert placed.images.shape == (64, 60, 60) and placed.labels.equal(digits.labels)
    for i in range(64):
        x, y = placed.corners[i].tolist()
        torch.testing.assert_close(placed.images[i, y : y + 28, x : x + 28], digits.images[i])
        assert placed.images[i].sum() == pytest.approx(float(digits.images[i].sum()), rel=1e-5)
    assert (placed.cells == -1).all()
    torch.testing.assert_close(placed.centres, placed.corners.float() + 14)


def test_placement_is_seeded(digits):
    a, b = place_digits(digits, CLUTTERED, seed=1), place_digits(digits, CLUTTERED, seed=1)
    c = place_digits(digits, CLUTTERED, seed=2)
    assert a.images.equal(b.images) and not a.images.equal(c.images)


def test_clutter_adds_ink_from_other_digits_only(digits):
    plain = place_digits(digits, PlacementConfig(size=60), seed=5)
    cluttered = place_digits(digits, PlacementConfig(size=60, clutter=4), seed=5)
    assert plain.corners.equal(cluttered.corners)  # same draws for the digit itself
    assert (cluttered.images >= plain.images).all()  # clutter only adds (max)
    extra = (cluttered.images - plain.images).sum(dim=(1, 2))  # (n,)
    assert (extra > 0).float().mean() > 0.9
    assert cluttered.images.max() <= 1


def test_grid_placement(digits):
    placed = place_digits(digits, PlacementConfig(size=60, grid=3), seed=0)
    assert set(placed.cells.tolist()) <= set(range(9)) and len(set(placed.cells.tolist())) > 5
    rows, cols = placed.cells // 3, placed.cells % 3
    assert placed.corners.equal(torch.stack([cols, rows], 1) * 16)


def test_placed_split_epochs_and_test_split():
    a = placed_split("train", TRANSLATED, epoch=0, limit=50)
    b = placed_split("train", TRANSLATED, epoch=1, limit=50)
    assert a.labels.equal(b.labels) and not a.corners.equal(b.corners)
    test = placed_split("test", TRANSLATED, limit=50)
    assert test.labels.equal(digit_split("test").labels[:50])
    images, labels = test.batches(16)[0]
    assert images.shape == (16, 1, 60, 60) and labels.shape == (16,)
    assert len(test[:10]) == 10


def test_bad_configs_name_the_field(digits):
    with pytest.raises(ValueError, match="size"):
        PlacementConfig(size=20)
    with pytest.raises(ValueError, match="clutter_size"):
        PlacementConfig(clutter_size=40)
    with pytest.raises(ValueError, match="grid"):
        PlacementConfig(size=60, grid=4)  # 32 px not divisible by 3
    with pytest.raises(ValueError, match="grid"):
        _ = TRANSLATED.stride
    with pytest.raises(ValueError, match="split"):
        placed_split("valid")
    with pytest.raises(TypeError, match="seed"):
        place_digits(digits, TRANSLATED, seed="0")
    with pytest.raises(ValueError, match="digits.images"):
        place_digits(Digits(torch.zeros(2, 20, 20), torch.zeros(2)), TRANSLATED)
