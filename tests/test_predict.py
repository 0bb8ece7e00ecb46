"""The form checks of the predict-first exercises: a prediction of the right form passes and
says how it is graded; any other form fails with a message naming the problem."""

import numpy as np
import pytest
import torch

from course_lib import predict
from course_lib.check import CheckFailed


@pytest.mark.parametrize("value", [3, 2.5, np.float32(0.25), np.int64(7)])
def test_number_accepts_numbers_and_says_how_it_is_graded(value, capsys):
    assert predict.number("p", value, graded="1 point within 10 %.", low=0) == float(value)
    out = capsys.readouterr().out
    assert out.startswith("✔ p is a number: ") and out.rstrip().endswith("1 point within 10 %.")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("45", "expected a number (int or float), got str '45'"),
        (True, "got bool True"),
        (torch.tensor(3.0), "got Tensor"),
        (None, "got NoneType None"),
        (float("nan"), "expected a finite number, got nan"),
        (-1.0, "expected a number above 0, got -1"),
    ],
)
def test_number_names_the_problem(value, problem):
    with pytest.raises(CheckFailed, match="Hint: write it as") as error:
        predict.number("p", value, graded="", low=0)
    assert problem in str(error.value) and str(error.value).startswith("✘ p: ")


def test_number_high_bound():
    with pytest.raises(CheckFailed, match="at most 1, got 2"):
        predict.number("p", 2, graded="", high=1)


def test_choice_accepts_an_option_and_names_any_other_form(capsys):
    assert predict.choice("c", "B", ["A", "B"], graded="2 points.") == "B"
    assert "✔ c is one of the options: 'B'. 2 points." in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"a string, in quotes\), got int 2"):
        predict.choice("c", 2, ["A", "B"], graded="")
    with pytest.raises(CheckFailed, match="did you mean 'B'"):
        predict.choice("c", "b ", ["A", "B"], graded="")
    with pytest.raises(CheckFailed, match="expected one of 'A', 'B', got 'D'"):
        predict.choice("c", "D", ["A", "B"], graded="")
