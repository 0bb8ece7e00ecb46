"""The argument checks of course_lib.core.shapes: errors name the argument and what was expected."""

import pytest
import torch

from course_lib.core.shapes import (
    expect_int,
    expect_match,
    expect_positive_int,
    expect_shape,
    expect_tensor,
)


@pytest.mark.parametrize("value", [1, 7, 10**12])
def test_expect_positive_int_returns_the_value(value):
    assert expect_positive_int(value, "n") == value


@pytest.mark.parametrize("value", [True, False, 2.0, "3", None, 0, -1])
def test_expect_positive_int_rejects_bools_non_ints_and_non_positive(value):
    with pytest.raises(ValueError, match=rf"^steps: expected a positive int, got {value!r}$"):
        expect_positive_int(value, "steps")


def test_expect_positive_int_minimum_and_maximum():
    assert expect_positive_int(0, "window", minimum=0) == 0
    with pytest.raises(ValueError, match=r"^window: expected an int >= 0, got -1$"):
        expect_positive_int(-1, "window", minimum=0)
    with pytest.raises(ValueError, match=r"^grid: expected an int >= 2, got 1$"):
        expect_positive_int(1, "grid", minimum=2)
    assert expect_positive_int(4, "k", minimum=0, maximum=4) == 4
    with pytest.raises(ValueError, match=r"^k: expected an int in \[0, 4\], got 5$"):
        expect_positive_int(5, "k", minimum=0, maximum=4)
    with pytest.raises(ValueError, match=r"^k: expected an int in \[0, 4\], got True$"):
        expect_positive_int(True, "k", minimum=0, maximum=4)


def test_expect_positive_int_minimum_name_and_note():
    with pytest.raises(ValueError, match=r"^max_len: expected an int >= min_len=8, got 5$"):
        expect_positive_int(5, "max_len", minimum=8, minimum_name="min_len")
    with pytest.raises(ValueError, match=r"^min_len: expected an int >= 2 \(room for it\), got 1$"):
        expect_positive_int(1, "min_len", minimum=2, note="room for it")


def test_expect_int_is_a_type_check():
    assert expect_int(-3, "seed") == -3
    with pytest.raises(TypeError, match="^seed: expected an int, got float$"):
        expect_int(1.0, "seed")
    with pytest.raises(TypeError, match="^seed: expected an int, got bool$"):
        expect_int(True, "seed")


def test_expect_shape_tensor_and_match():
    assert expect_shape(torch.zeros(2, 3), "batch, d", name="x") == {"batch": 2, "d": 3}
    with pytest.raises(ValueError, match=r"x: expected 3 dims \(batch, n, d\)"):
        expect_shape(torch.zeros(2, 3), "batch, n, d", name="x")
    with pytest.raises(ValueError, match="x: dim 1 must have size 4"):
        expect_shape(torch.zeros(2, 3), "batch, 4", name="x")
    with pytest.raises(TypeError, match="x: expected a torch.Tensor, got list"):
        expect_tensor([1], "x")
    assert expect_match("d", {"q.d": 8, "k.d": 8}) == 8
    with pytest.raises(ValueError, match="d must match, got q.d=8, k.d=4"):
        expect_match("d", {"q.d": 8, "k.d": 4})
