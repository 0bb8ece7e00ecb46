"""The learner check helpers: ticks on success, clear messages without the answer on failure."""

import numpy as np
import pytest
import torch

from course_lib import check
from course_lib.check import CheckFailed


def test_passing_checks_print_a_tick(capsys):
    x = torch.arange(6.0).reshape(2, 3)
    check.close("close", x + 1e-7, expected=x)
    check.equal("equal", torch.tensor([1, 2]), expected=torch.tensor([1, 2]))
    check.shape("shape", x, expected=(2, 3))
    check.raises("raises", lambda: int("x"), ValueError, match="invalid literal")
    assert capsys.readouterr().out.count("\u2714") == 4


@pytest.mark.parametrize(
    "value, expected, message",
    [
        (torch.zeros(3, 2), torch.zeros(2, 3), r"expected shape \(2, 3\), got \(3, 2\)"),
        (None, torch.zeros(2), r"got None: did your function forget to `return`\?"),
        (torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0]), r"NaN in 1 of 2 places"),
        (
            torch.tensor([1.0, 0.0]),
            torch.tensor([1.0, float("nan")]),
            r"a number in 1 of 2 places where NaN was expected",
        ),
        (
            torch.tensor([1.0, 2.5, 3.0]),
            torch.tensor([1.0, 2.0, 3.0]),
            r"1 of 3 values differ .* largest difference is 0.5 at index \(1,\)",
        ),
        ("text", torch.zeros(2), r"expected a tensor, got str"),
    ],
)
def test_close_failures_say_what_was_expected(value, expected, message):
    with pytest.raises(CheckFailed, match=message) as info:
        check.close("name", value, expected=expected, hint="a hint")
    assert "Hint: a hint" in str(info.value)
    assert "2.0" not in str(info.value).split("largest")[0]  # the expected values are not shown


def test_a_mistake_with_nan_is_named_only_where_the_value_has_nan_too():
    overflow = {"overflowing": torch.tensor([float("nan"), 0.0])}  # NaN is no wildcard
    with pytest.raises(CheckFailed) as info:
        check.close(
            "n", torch.tensor([0.5, 0.0]), expected=torch.ones(2), hint="h", mistakes=overflow
        )
    assert "overflowing" not in str(info.value) and "Hint: h" in str(info.value)
    with pytest.raises(CheckFailed, match="That is exactly what overflowing gives"):
        check.close(
            "n", torch.tensor([float("nan"), 0.0]), expected=torch.ones(2), mistakes=overflow
        )


def test_other_failures():
    with pytest.raises(CheckFailed, match=r"expected shape \(2,\), got \(3,\)"):
        check.shape("s", torch.zeros(3), expected=(2,))
    with pytest.raises(CheckFailed, match="expected a tensor of shape"):
        check.shape("s", [1, 2], expected=(2,))
    with pytest.raises(CheckFailed, match="1 of 2 entries are not the expected ones"):
        check.equal("e", np.array([1, 3]), expected=np.array([1, 2]))
    with pytest.raises(CheckFailed, match="expected ValueError to be raised, got no exception"):
        check.raises("r", lambda: None, ValueError)
    with pytest.raises(CheckFailed, match="expected ValueError to be raised, got KeyError"):
        check.raises("r", lambda: {}["x"], ValueError)
    with pytest.raises(CheckFailed, match="should mention 'size'"):
        check.raises("r", lambda: int("x"), ValueError, match="size")


def test_recording_mode_records_and_never_compares():
    class Sink:
        def __init__(self):
            self.records = []

        def record(self, kind, name, value, params):
            self.records.append((kind, name, value, params))

    sink = Sink()
    check.RECORDER = sink
    try:
        check.close("c", torch.ones(2), expected=torch.zeros(2), atol=0.5)  # no CheckFailed
        check.raises("r", lambda: int("x"), ValueError, match="literal")
    finally:
        check.RECORDER = None
    assert [r[:2] for r in sink.records] == [("close", "c"), ("raises", "r")]
    assert sink.records[0][3] == {"atol": 0.5, "rtol": 1e-4, "hint": None}
    assert sink.records[1][2] == ["ValueError", True]


def test_answer_problems_name_what_the_grader_will_not_have():
    namespace = {"torch": torch}
    exec(  # an answer cell of its own, and a helper from "another cell" (__main__)
        compile("def mine(x):\n    return torch.relu(x) + missing_helper(x)\n", "<answer>", "exec"),
        namespace,
    )
    problems = check.answer_problems(namespace["mine"])
    assert (
        len(problems) == 1 and "`missing_helper` is not defined in your answer cells" in problems[0]
    )


def test_answer_problems_name_a_forbidden_reference_called_directly_or_through_its_module():
    import torch.nn.functional as F

    namespace = {"F": F, "softmax_ref": torch.softmax}
    source = "def a(x):\n    return F.softmax(x, -1)\ndef b(x):\n    return softmax_ref(x, -1)\n"
    exec(compile(source, "<answer>", "exec"), namespace)
    for name, dotted in (("a", "torch.nn.functional.softmax"), ("b", "torch.softmax")):
        problems = check.answer_problems(namespace[name], [dotted])
        assert any(dotted in p and "reference" in p for p in problems), (name, problems)
    assert check.answer_problems(namespace["a"], ["torch.softmax"]) == []


def test_answer_cell_flags_in_the_notebook_and_records_under_the_grader():
    namespace = {"torch": torch}
    exec(compile("def good(x):\n    return torch.relu(x)\n", "<answer>", "exec"), namespace)
    check.answer_cell("stands alone", namespace["good"])  # passes: prints a tick
    exec(compile("def bad(x):\n    return helper(x)\n", "<answer2>", "exec"), namespace)
    with pytest.raises(CheckFailed, match="helper"):
        check.answer_cell("stands alone", namespace["bad"])
    with pytest.raises(CheckFailed, match="helper"):  # later checks fail too, as in the grader
        check.equal("later", 1, expected=1)
    exec(compile("def bad(x):\n    return x\n", "<answer3>", "exec"), namespace)
    check.equal("later", 1, expected=1)  # fixed and re-defined: the guard lifts
    check._ANSWER = None


def test_equal_says_where_the_entries_differ_without_the_expected_values():
    with pytest.raises(CheckFailed) as failed:
        check.equal("ids", torch.tensor([[1, 2], [3, 4]]), expected=torch.tensor([[1, 9], [8, 4]]))
    message = str(failed.value)
    assert "2 of 4 entries are not the expected ones, first at (0, 1) (you have 2)" in message
    assert "(1, 0) (you have 3)" in message and "9" not in message and "8" not in message
    with pytest.raises(CheckFailed, match="got 5, not the expected value"):
        check.equal("count", 5, expected=6)


def test_the_grader_compares_equal_values_the_same_way():
    from course_lib.grading.compare import compare
    from course_lib.grading.runner import encode

    problem = compare("equal", {}, encode(torch.tensor([1, 2, 3])), encode(torch.tensor([1, 0, 3])))
    assert problem == "1 of 3 entries are not the expected ones, first at (1,) (you have 2)"
    assert compare("answer", {}, encode(["`h` is defined in another cell"]), encode([])) == (
        "`h` is defined in another cell"
    )
    assert compare("answer", {}, encode([]), encode([])) is None


def test_the_grader_words_nan_problems_as_the_notebook_does():
    from course_lib.grading.compare import compare
    from course_lib.grading.runner import encode

    nan = float("nan")
    got_nan = compare(
        "close", {}, encode(torch.tensor([nan, 1.0])), encode(torch.tensor([0.0, 1.0]))
    )
    assert got_nan == "NaN in 1 of 2 places where none was expected"
    no_nan = compare(
        "close", {}, encode(torch.tensor([0.0, 1.0])), encode(torch.tensor([nan, 1.0]))
    )
    assert no_nan == "a number in 1 of 2 places where NaN was expected"
