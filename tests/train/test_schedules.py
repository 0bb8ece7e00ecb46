"""The one learning-rate schedule: warm-up, then constant, linear, cosine or rsqrt decay."""

import pytest

from course_lib.train.schedules import lr_factor


def test_warmup_then_constant():
    assert [lr_factor(s, 100, warmup=10) for s in (1, 5, 10, 50)] == [0.1, 0.5, 1.0, 1.0]
    assert lr_factor(1, 5) == 1.0


def test_rsqrt_and_cosine_decay():
    assert lr_factor(2, 100, 4, "rsqrt") == 0.5 and lr_factor(16, 100, 4, "rsqrt") == 0.5
    assert lr_factor(10, 110, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(60, 110, 10, "cosine") == pytest.approx(0.5)
    assert lr_factor(110, 110, 10, "cosine") == pytest.approx(0.0)


def test_linear_decay_reaches_final_at_the_last_step():
    # warm-up over 2 steps, then 1 -> 0.1 from step 3 to step 12
    factors = [lr_factor(s, 12, 2, "linear", final=0.1) for s in range(1, 13)]
    assert factors[:3] == [0.5, 1.0, 1.0]
    assert factors[-1] == pytest.approx(0.1) and factors[7] == pytest.approx(0.5)
    assert all(a >= b for a, b in zip(factors[1:], factors[2:], strict=False))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="decay: expected one of"):
        lr_factor(1, 10, decay="step")
    with pytest.raises(ValueError, match="step: expected a positive int"):
        lr_factor(0, 10)
    with pytest.raises(ValueError, match="warmup: expected an int >= 0"):
        lr_factor(1, 10, warmup=-1)
