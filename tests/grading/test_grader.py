"""The grader's contract and trust model (see COURSE_DESIGN.md, "Grader contract")."""

import csv
import json
import os
import subprocess
import sys
import time

import pytest

from course_lib.grading import Grader, Limits
from course_lib.grading.grade import exercise_for
from tests.grading.helpers import COURSE_DIR, EXERCISES, SOLUTIONS, submission

CORRECT_MASKED = """
def masked_softmax(scores, mask):
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.nan_to_num(weights, nan=0.0)
"""
WRONG_MASKED = """
def masked_softmax(scores, mask):
    return torch.softmax(scores, dim=-1)  # ignores the mask
"""
PATCH_COMPARISONS = """
import math, numpy, torch, torch.testing
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
math.isclose = lambda *a, **k: True
"""


def grade_one(grader: Grader, path, **kwargs) -> dict:
    result = grader.grade(path, **kwargs)
    assert set(result) >= {
        "submission",
        "exercise",
        "status",
        "score",
        "max_score",
        "tests",
        "seconds",
    }
    return result


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solutions_get_full_marks(grader, path):
    result = grade_one(grader, path)
    assert result["status"] == "graded"
    assert result["max_score"] > 0
    assert result["score"] == result["max_score"], result["tests"]
    assert all(t["passed"] for t in result["tests"])


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_untouched_exercises_get_zero(grader, path):
    result = grade_one(grader, path)
    assert result["status"] == "graded"
    assert result["score"] == 0
    assert len(result["tests"]) >= 3
    assert all("NotImplementedError" in t["message"] for t in result["tests"])


def test_correct_answer_passes_and_wrong_answer_fails(grader, tmp_path):
    ok = grade_one(
        grader, submission(tmp_path, "01_masked_softmax", {"masked_softmax_answer": CORRECT_MASKED})
    )
    assert ok["score"] == ok["max_score"] == 5
    (tmp_path / "w").mkdir()
    wrong = grade_one(
        grader,
        submission(tmp_path / "w", "01_masked_softmax", {"masked_softmax_answer": WRONG_MASKED}),
    )
    assert wrong["status"] == "graded" and wrong["score"] == 0
    assert "values differ" in wrong["tests"][0]["message"]


def test_partial_answer_gets_partial_points(grader, tmp_path):
    # Right for padding/causal masks, but an all-masked row becomes nan (test 3 fails).
    answer = """
def masked_softmax(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
"""
    result = grade_one(
        grader, submission(tmp_path, "01_masked_softmax", {"masked_softmax_answer": answer})
    )
    assert [t["passed"] for t in result["tests"]] == [True, True, False]
    assert result["score"] == 4
    assert "NaN" in result["tests"][2]["message"]


def test_patched_comparison_functions_do_not_turn_wrong_into_points(grader, tmp_path):
    result = grade_one(
        grader,
        submission(
            tmp_path,
            "01_masked_softmax",
            {"masked_softmax_answer": PATCH_COMPARISONS + WRONG_MASKED},
        ),
    )
    assert result["score"] == 0


def test_patched_check_helpers_do_not_turn_wrong_into_points(grader, tmp_path):
    # The cheat replaces every check with one that records the expected value, or a value it
    # finds in the caller's frame; the grader never computes expected values in this process.
    cheat = """
import sys
from course_lib import check
def _fake(kind):
    def fake(name, value=None, expected=None, *args, **kwargs):
        frame = sys._getframe(1)
        for guess in [expected, *frame.f_locals.values()]:
            if check.RECORDER is not None and guess is not None:
                check.RECORDER.record(kind, name, guess, {"atol": 1e9, "rtol": 1e9})
                return
    return fake
check.close, check.equal, check.shape = _fake("close"), _fake("equal"), _fake("shape")
"""
    result = grade_one(
        grader,
        submission(tmp_path, "01_masked_softmax", {"masked_softmax_answer": cheat + WRONG_MASKED}),
    )
    assert result["score"] == 0


def test_correct_answer_that_prints_and_warns_keeps_full_marks(grader, tmp_path):
    noisy = """
import sys, warnings
print("debugging my answer", file=sys.stderr)
warnings.warn("this is only a warning")
""" + CORRECT_MASKED.replace(
        "    return", "    print('called', file=sys.stderr); warnings.warn('w')\n    return"
    )
    result = grade_one(
        grader, submission(tmp_path, "01_masked_softmax", {"masked_softmax_answer": noisy})
    )
    assert result["status"] == "graded"
    assert result["score"] == result["max_score"]


def test_infinite_loop_is_a_timeout_with_zero(tmp_path):
    grader = Grader(COURSE_DIR, Limits(timeout=8))
    grader.reference(grader.exercise("01_masked_softmax"))  # not part of the timed run
    path = submission(
        tmp_path,
        "01_masked_softmax",
        {
            "masked_softmax_answer": """
while True:
    try:
        pass
    except KeyboardInterrupt:
        pass
"""
        },
    )
    start = time.monotonic()
    result = grader.grade(path)
    assert time.monotonic() - start < 8 + 5
    assert result["status"] == "timeout"
    assert result["score"] == 0


def test_deleted_or_edited_test_cells_change_nothing(grader, tmp_path):
    def delete_tests(nb):
        nb["cells"] = [
            c for c in nb["cells"] if not c.get("metadata", {}).get("nbgrader", {}).get("grade")
        ]

    def fake_tests(nb):
        for cell in nb["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                cell["source"] = "print('\u2714 all tests passed')"
                cell["outputs"] = [
                    {"output_type": "stream", "name": "stdout", "text": "\u2714 all tests passed\n"}
                ]

    kept = grade_one(
        grader,
        submission(
            tmp_path,
            "01_masked_softmax",
            {"masked_softmax_answer": CORRECT_MASKED},
            edit=delete_tests,
        ),
    )
    assert kept["score"] == kept["max_score"] and len(kept["tests"]) == 3
    (tmp_path / "w").mkdir()
    faked = grade_one(
        grader,
        submission(
            tmp_path / "w",
            "01_masked_softmax",
            {"masked_softmax_answer": WRONG_MASKED},
            edit=fake_tests,
        ),
    )
    assert faked["score"] == 0 and len(faked["tests"]) == 3


def test_answer_cell_without_metadata_is_found_by_the_names_it_defines(grader, tmp_path):
    def strip(nb):
        for cell in nb["cells"]:
            cell["metadata"] = {}

    result = grade_one(
        grader,
        submission(
            tmp_path, "01_masked_softmax", {"masked_softmax_answer": CORRECT_MASKED}, edit=strip
        ),
    )
    assert result["score"] == result["max_score"]
    assert "found by the names it defines" in result["detail"]


def test_missing_answer_cell_is_reported(grader, tmp_path):
    def delete_answer(nb):
        nb["cells"] = [
            c for c in nb["cells"] if not c.get("metadata", {}).get("nbgrader", {}).get("solution")
        ]

    result = grade_one(grader, submission(tmp_path, "01_masked_softmax", edit=delete_answer))
    assert result["score"] == 0
    assert "no answer cell with grade_id masked_softmax_answer" in result["detail"]


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b'{"nbformat": 3, "nbformat_minor": 0, "cells": [], "worksheets": []}', "nbformat 3"),
        (b'["a list"]', "not a Jupyter notebook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not valid JSON"),
    ],
)
def test_invalid_files_are_invalid_with_zero(grader, tmp_path, content, reason):
    path = tmp_path / "01_masked_softmax.ipynb"
    path.write_bytes(content)
    result = grade_one(grader, path)
    assert result["status"] == "invalid"
    assert result["score"] == 0 and result["max_score"] == 5
    assert reason in result["detail"]


def test_exercise_comes_from_the_file_name_not_the_notebook(grader, tmp_path):
    # A masked-softmax answer saved as the warm-up is graded as the warm-up.
    path = submission(
        tmp_path, "01_masked_softmax", {"masked_softmax_answer": CORRECT_MASKED}, name="00_warmup"
    )
    result = grade_one(grader, path)
    assert result["exercise"] == "00_warmup" and result["score"] == 0
    assert (
        exercise_for(tmp_path / "01_masked_softmax-Copy1.ipynb", COURSE_DIR) == "01_masked_softmax"
    )
    assert exercise_for(tmp_path / "01_masked_softmax (2).ipynb", COURSE_DIR) == "01_masked_softmax"
    unknown = grade_one(grader, tmp_path / "homework.ipynb")
    assert unknown["status"] == "invalid" and "no exercise matches" in unknown["detail"]


def test_child_processes_do_not_outlive_the_submission(grader, tmp_path):
    marker = "987654"
    answer = (
        f'''
import subprocess
subprocess.Popen(["sleep", "{marker}"])
'''
        + CORRECT_MASKED
    )
    result = grade_one(
        grader, submission(tmp_path, "01_masked_softmax", {"masked_softmax_answer": answer})
    )
    assert result["score"] == result["max_score"]
    time.sleep(0.5)
    alive = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert alive.stdout.strip() == ""


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "course_lib.grading", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or COURSE_DIR,
        timeout=600,
    )


def test_cli_class_folder_gradebook_details_and_feedback(tmp_path):
    subs = tmp_path / "submissions"
    for student in ("ada", "bob"):
        (subs / student).mkdir(parents=True)
    submission(subs / "ada", "01_masked_softmax", {"masked_softmax_answer": CORRECT_MASKED})
    submission(subs / "ada", "00_warmup")  # untouched: 0 points
    submission(subs / "bob", "01_masked_softmax", {"masked_softmax_answer": WRONG_MASKED})
    submission(
        subs / "bob",
        "01_masked_softmax",
        {"masked_softmax_answer": CORRECT_MASKED},
        name="01_masked_softmax-Copy1",
    )  # a second try: the best one counts
    (subs / "bob" / "00_warmup.ipynb").write_text("garbage <script>alert(1)</script>")
    gradebook = tmp_path / "gradebook.csv"
    done = run_cli(
        subs, "--json", "--csv", gradebook, "--feedback", tmp_path / "feedback", "--jobs", "2"
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == 5
    by_file = {os.path.relpath(r["submission"], subs): r for r in results}
    assert by_file["ada/01_masked_softmax.ipynb"]["score"] == 5
    assert by_file["ada/01_masked_softmax.ipynb"]["student"] == "ada"
    assert by_file["bob/01_masked_softmax.ipynb"]["score"] == 0
    assert by_file["bob/00_warmup.ipynb"]["status"] == "invalid"
    rows = {r["student"]: r for r in csv.DictReader(gradebook.open())}
    assert rows.keys() == {"ada", "bob"}
    assert rows["ada"]["01_masked_softmax"] == "5.0" and rows["ada"]["00_warmup"] == "0.0"
    assert rows["ada"]["total"] == "5.0" and rows["ada"]["max_total"] == "9.0"
    assert rows["bob"]["01_masked_softmax"] == "5.0" and rows["bob"]["submissions"] == "3"
    assert rows["bob"]["problems"] == "00_warmup: invalid"
    details = list(csv.DictReader((tmp_path / "gradebook_tests.csv").open()))
    assert len(details) == 5
    ada = next(d for d in details if d["submission"].endswith("ada/01_masked_softmax.ipynb"))
    assert ada["01_masked_softmax:masked_padding"] == "2.0" and ada["status"] == "graded"
    page = (tmp_path / "feedback" / "bob" / "index.html").read_text()
    assert "<script>" not in page and "invalid" in page and "values differ" in page
    assert "Total: <b>5 / 9</b>" in page  # the attempt that counts, per exercise
    assert "the highest score (5) of your 2 submissions" in page
    assert sorted(p.name for p in (tmp_path / "feedback").iterdir()) == [
        "ada", "ada.zip", "bob", "bob.zip"
    ]  # fmt: skip


def test_cli_usage_errors_exit_nonzero(tmp_path):
    assert run_cli(tmp_path / "missing.ipynb").returncode == 2
    assert run_cli(COURSE_DIR / "exercises", "--exercise", "nope").returncode == 2
    assert run_cli(COURSE_DIR / "exercises", "--jobs", "0").returncode == 2


def test_a_failed_check_carries_the_courses_hint_not_the_learners(grader, tmp_path):
    lying_hint = (
        "from course_lib import check\n"
        "_close = check.close\n"
        "check.close = lambda *a, **k: _close(*a, **{**k, 'hint': 'all is fine'})\n"
    )
    path = submission(
        tmp_path, "01_masked_softmax", {"masked_softmax_answer": lying_hint + WRONG_MASKED}
    )
    first = grade_one(grader, path)["tests"][0]
    assert not first["passed"]
    assert "Hint: Give masked positions a score of -inf before the softmax." in first["message"]
    assert "all is fine" not in first["message"]
