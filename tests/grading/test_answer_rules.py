"""How the grader reads a notebook that is not the one handed out (issue 17, part 3): a
duplicated answer cell, an answer that is not valid Python, and cells the learner added. Each
gets the score its rule gives and a flag that names the cause, in the JSON, the CSVs and the
feedback page."""

import csv
import json

from course_lib.grading.report import write_feedback, write_test_details
from tests.grading.diagnoses import same_verdicts
from tests.grading.helpers import submission

CORRECT = """def masked_softmax(scores, mask):
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.nan_to_num(weights, nan=0.0)
"""
NOT_PYTHON = """def masked_softmax(scores, mask):
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.nan_to_num(weights, nan=0.0
"""
HELPER = "def zero_nan(x):\n    return torch.nan_to_num(x, nan=0.0)\n"
USES_HELPER = """def masked_softmax(scores, mask):
    return zero_nan(torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1))
"""
ANSWER_ID = "masked_softmax_answer"


def answer_index(nb: dict) -> int:
    return next(
        i
        for i, c in enumerate(nb["cells"])
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == ANSWER_ID
    )


def pasted_copy(source: str, before: bool = False):
    """JupyterLab's copy-paste: a second cell with the same metadata (and cell id)."""

    def edit(nb: dict) -> None:
        at = answer_index(nb)
        copy = json.loads(json.dumps(nb["cells"][at]))
        copy["source"] = source
        nb["cells"].insert(at if before else at + 1, copy)

    return edit


def added_cell(source: str):
    def edit(nb: dict) -> None:
        nb["cells"].insert(
            answer_index(nb),
            {"cell_type": "code", "id": "mine", "metadata": {}, "source": source,
             "outputs": [], "execution_count": None},
        )  # fmt: skip

    return edit


def flags(result: dict, kind: str) -> list[dict]:
    return [f for f in result["flags"] if f["kind"] == kind]


def test_duplicated_answer_cell_grades_the_last_copy_and_says_so(grader, tmp_path):
    # the stub (as handed out) first, then the learner's fixed copy below it
    path = submission(tmp_path, "01_masked_softmax", edit=pasted_copy(CORRECT))
    result = grader.grade(path)
    assert result["score"] == result["max_score"] == 5
    (flag,) = flags(result, "duplicate_answer_cell")
    stub_cell = answer_index(json.loads(path.read_text())) + 1
    assert flag["cells"] == [stub_cell, stub_cell + 1]
    assert "graded the last one, cell" in flag["message"] and ANSWER_ID in flag["message"]
    assert "duplicated answer cell" in result["detail"]


def test_duplicated_answer_cell_follows_notebook_order_like_the_kernel(grader, tmp_path):
    """The fixed copy pasted *above* the stub: run top to bottom, the notebook ends with the
    stub too, so both fail; the flag says which cell was graded."""
    path = submission(tmp_path, "01_masked_softmax", edit=pasted_copy(CORRECT, before=True))
    in_notebook, graded = same_verdicts(grader, path)
    assert all(v is not None and "NotImplementedError" in v for v in in_notebook.values())
    result = grader.grade(path)
    assert result["score"] == 0
    assert all("NotImplementedError" in t["message"] for t in result["tests"])
    assert flags(result, "duplicate_answer_cell")


def test_syntax_error_names_the_cell_and_line_not_a_name_error(grader, tmp_path):
    path = submission(tmp_path, "01_masked_softmax", {ANSWER_ID: NOT_PYTHON})
    result = grader.grade(path)
    assert result["score"] == 0
    (flag,) = flags(result, "syntax_error")
    assert flag["line"] == 3 and flag["cells"] == [answer_index(json.loads(path.read_text())) + 1]
    assert flag["message"].startswith("SyntaxError") and "line 3" in flag["message"]
    for test in result["tests"]:
        assert "SyntaxError at line 3" in test["message"], test["message"]
        assert "NameError" not in test["message"]


def test_ipython_syntax_in_an_answer_is_not_a_syntax_error(grader, tmp_path):
    magic = "%config InlineBackend.figure_format = 'png'\n" + CORRECT
    result = grader.grade(submission(tmp_path, "01_masked_softmax", {ANSWER_ID: magic}))
    assert result["score"] == 5 and not flags(result, "syntax_error")


def test_helper_in_an_extra_cell_fails_as_in_the_notebook_and_is_flagged(grader, tmp_path):
    path = submission(
        tmp_path, "01_masked_softmax", {ANSWER_ID: USES_HELPER}, edit=added_cell(HELPER)
    )
    result = grader.grade(path)
    assert result["score"] == 0  # the notebook's own check fails it too (see
    # test_notebook_predicts_grade.py, "helper in another cell")
    (flag,) = flags(result, "extra_cells")
    assert flag["names"] == ["zero_nan"]
    assert "Your answer uses `zero_nan`" in flag["message"]
    assert "move it into the answer cell" in flag["message"]
    assert "zero_nan" in result["tests"][0]["message"]


def test_scratch_cell_is_flagged_but_costs_nothing(grader, tmp_path):
    scratch = "x = masked_softmax(torch.randn(2, 3), torch.ones(2, 3, dtype=torch.bool))\nx"
    path = submission(tmp_path, "01_masked_softmax", {ANSWER_ID: CORRECT}, edit=added_cell(scratch))
    result = grader.grade(path)
    assert result["score"] == 5
    (flag,) = flags(result, "extra_cells")
    assert flag["names"] == ["x"] and "costs nothing" in flag["message"]


def test_untouched_handed_out_cells_are_not_extra(grader, tmp_path):
    result = grader.grade(submission(tmp_path, "01_masked_softmax", {ANSWER_ID: CORRECT}))
    assert result["score"] == 5 and result["flags"] == []


def test_flags_reach_the_csv_and_the_feedback_page(grader, tmp_path):
    cases = {
        "dup": dict(edit=pasted_copy(CORRECT)),
        "syntax": dict(answers={ANSWER_ID: NOT_PYTHON}),
        "extra": dict(answers={ANSWER_ID: USES_HELPER}, edit=added_cell(HELPER)),
    }
    results = []
    for student, kwargs in cases.items():
        folder = tmp_path / student
        folder.mkdir()
        results.append(
            {"student": student, **grader.grade(submission(folder, "01_masked_softmax", **kwargs))}
        )
    write_test_details(results, tmp_path / "tests.csv")
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "tests.csv").open())}
    assert rows["dup"]["flags"].startswith("duplicated answer cell (cells ")
    assert rows["syntax"]["flags"].startswith("SyntaxError in an answer cell (cell ")
    assert ", line 3)" in rows["syntax"]["flags"]
    assert rows["extra"]["flags"].startswith("extra cells not graded (cell ")
    write_feedback(results, tmp_path / "feedback")
    for student, words in (
        ("dup", "graded the last one"),
        ("syntax", "SyntaxError"),
        ("extra", "extra cells not graded"),
    ):
        page = (tmp_path / "feedback" / student / "index.html").read_text()
        assert "class='flag'" in page and words in page, student
