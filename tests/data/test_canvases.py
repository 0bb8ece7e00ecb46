"""Tests of course_lib.data.canvases: captioning canvases (boxes tight around each digit, left to
right, cached) and translated and cluttered placements (seeded, the digit is where the record
says, clutter comes from other digits); bad configs are refused."""

import pytest
import torch

from course_lib.data.canvases import (
    CLUTTERED,
    INK,
    TRANSLATED,
    CanvasConfig,
    PlacementConfig,
    canvas_split,
    make_canvases,
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


def test_canvases_boxes_hold_the_digits_left_to_right(all_digits):
    config = CanvasConfig()
    source = Digits(all_digits.images[:300], all_digits.labels[:300])
    canvases = make_canvases(source, 60, config, seed=5)
    again = make_canvases(source, 60, config, seed=5)
    assert torch.equal(canvases.images, again.images) and torch.equal(canvases.boxes, again.boxes)
    assert canvases.images.shape == (60, 64, 64) and canvases.labels.shape == (60, 3)
    assert set(canvases.counts.tolist()) <= {2, 3}
    for i in range(60):
        count = int(canvases.counts[i])
        labels, boxes = canvases.labels[i], canvases.boxes[i]
        assert (labels[:count] >= 0).all() and (labels[count:] == -1).all()
        covered = torch.zeros(64, 64, dtype=torch.bool)
        for t in range(count):
            x0, y0, x1, y1 = boxes[t].int().tolist()
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
            inside = canvases.images[i, y0:y1, x0:x1]
            # tight: ink touches every side of the box
            assert inside[0].max() > INK and inside[-1].max() > INK
            assert inside[:, 0].max() > INK and inside[:, -1].max() > INK
            covered[y0:y1, x0:x1] = True
            if t:  # left to right, x-ranges at least `gap` apart
                assert boxes[t, 0] >= boxes[t - 1, 2] + config.gap
        assert canvases.images[i][~covered].max() <= INK + 0.01  # no ink outside the boxes


def test_canvas_config_and_split_validation(cache):
    with pytest.raises(ValueError, match="min_digits"):
        CanvasConfig(min_digits=4, max_digits=3)
    with pytest.raises(ValueError, match="max_height"):
        CanvasConfig(max_height=80)
    with pytest.raises(ValueError, match="n"):
        make_canvases(digit_split("test"), 0)
    small = canvas_split("test", 20)
    assert len(small) == 20 and small[:5].images.shape == (5, 64, 64)


def test_canvases_index_every_field_at_once():
    canvases = make_canvases(digit_split("test"), 12, CanvasConfig(), seed=1)
    assert len(canvases) == 12
    some = canvases[torch.tensor([3, 0, 7])]
    assert type(some) is type(canvases) and len(some) == 3
    assert torch.equal(some.images[1], canvases.images[0])
    assert torch.equal(some.boxes[2], canvases.boxes[7])
    assert torch.equal(canvases[2:5].counts, canvases.counts[2:5])
