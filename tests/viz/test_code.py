"""show_code shows the course's code, never an exercise's answer."""

from __future__ import annotations

import pytest

from course_lib.core.transformer import MultiHeadAttention, TransformerBlock
from course_lib.explain.gradcam import GradCAM
from course_lib.train.stats import paired
from course_lib.viz.code import gives_an_answer, show_code


def test_shows_course_code_as_highlighted_python():
    shown = show_code(TransformerBlock.forward)
    assert shown.data.startswith("def forward(") and "return" in shown.data
    assert "def paired(" in show_code(paired).data


@pytest.mark.parametrize(
    "obj, answers",
    [
        (MultiHeadAttention.forward, {"course_lib.core.transformer.MultiHeadAttention.forward"}),
        (
            MultiHeadAttention,  # the class holds two answers
            {
                "course_lib.core.transformer.MultiHeadAttention._split",
                "course_lib.core.transformer.MultiHeadAttention.forward",
            },
        ),
        (GradCAM.weights, {"course_lib.explain.gradcam.GradCAM"}),  # a method of an answer
    ],
)
def test_refuses_what_an_exercise_asks_for(obj, answers):
    assert gives_an_answer(f"{obj.__module__}.{obj.__qualname__}") in answers
    with pytest.raises(ValueError, match="would show the answer to an exercise"):
        show_code(obj)


def test_refuses_what_is_not_the_course_code():
    with pytest.raises(ValueError, match="expected the course's own code"):
        show_code(pytest.raises)
    with pytest.raises(TypeError, match="expected a function, method or class"):
        show_code(3)
