"""Lessons 04 and 05 score their models on many draws (distortions, placements) of the 1,000
test digits: every draw must come from a test digit, no training image from one, and the draw
order must match the groups the paired tests use."""

from __future__ import annotations

import pytest
import torch

from course_lib.checkpoints import lesson04, lesson05
from course_lib.data import canvases as C
from course_lib.data import digits as D
from course_lib.data.digits import digit_split, distorted_split, draw_groups


def _keys(images: torch.Tensor) -> set[bytes]:
    """One exact key per 28x28 image (n, 28, 28) in [0, 1]."""
    return {bytes(row) for row in D.to_uint8(images).reshape(len(images), -1).numpy()}


@pytest.fixture(scope="module")
def splits(cache):
    train, test = digit_split("train"), digit_split("test")
    return _keys(train.images), _keys(test.images)


@pytest.fixture()
def recorded(monkeypatch):
    """The 28x28 digits handed to the distortion and placement builders, per call."""
    seen: list[torch.Tensor] = []
    distort, place = D.distort, C.place_digits

    def distort_spy(images, variant, seed=0):
        seen.append(images.clone())
        return distort(images, variant, seed)

    def place_spy(digits, config=C.TRANSLATED, seed=0):
        seen.append(digits.images.clone())
        return place(digits, config, seed)

    monkeypatch.setattr(D, "distort", distort_spy)
    monkeypatch.setattr(lesson04, "distort", distort_spy)
    monkeypatch.setattr(C, "place_digits", place_spy)
    return seen


def test_train_and_test_digits_share_no_image(splits):
    train, test = splits
    assert len(train) > 3900 and len(test) > 990  # (a few MNIST digits repeat within a split)
    assert not train & test


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_distorted_test_draws_come_from_test_digits_only(variant, splits, recorded):
    data = distorted_split("test", variant, copies=3)
    assert recorded, "the cache was not fresh: nothing was distorted"
    assert all(_keys(images) <= splits[1] for images in recorded)
    test = digit_split("test")
    groups = draw_groups(len(test), 3)
    assert torch.equal(data.labels, test.labels[groups])  # draw c * n + i is digit i


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_lesson04_training_epochs_draw_from_training_digits_only(variant, splits, recorded):
    batches = lesson04.epoch_batches(lesson04.SPECS[f"stn_{variant}"])(0)
    assert sum(len(y) for _, y in batches) == len(digit_split("train"))
    assert recorded and all(_keys(images) <= splits[0] for images in recorded)


@pytest.mark.parametrize("config", [C.TRANSLATED, C.CLUTTERED])
def test_placed_draws_are_test_digits_and_lesson05_trains_on_training_digits(
    config, splits, recorded
):
    draws = C.placed_draws("test", config, draws=2)
    test = digit_split("test")
    assert torch.equal(draws.labels, test.labels[draw_groups(len(test), 2)])
    assert all(_keys(images) <= splits[1] for images in recorded)  # clutter too
    # two draws of one digit differ in placement, so they are two looks at it
    assert not torch.equal(draws.corners[: len(test)], draws.corners[len(test) :])
    recorded.clear()
    data = "translated" if config == C.TRANSLATED else "cluttered"
    lesson05.epoch_batches(data)(3)
    assert recorded and all(_keys(images) <= splits[0] for images in recorded)


def test_bad_draw_counts_are_refused():
    with pytest.raises(ValueError, match="draws"):
        draw_groups(10, 0)
    with pytest.raises(ValueError, match="draws"):
        C.placed_draws("test", C.TRANSLATED, draws=0)
