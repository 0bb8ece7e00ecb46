"""The exercise pipeline: solutions/ is the source, exercises/ is generated and in sync."""

import ast
import json

import pytest

from course_lib.grading.notebook import (
    _expected_args,
    names_only_expected_uses,
    solution_cells,
    strip_expected,
)
from course_lib.tools.exercises import STUB, make_exercise, stale, strip_source
from tests.grading.helpers import COURSE_DIR, EXERCISES, SOLUTIONS, load


def test_exercises_are_in_sync_with_solutions():
    assert stale() == [], "exercises/ is out of date: run `make exercises`"


def test_sync_check_fails_when_an_exercise_is_edited(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    source = SOLUTIONS[0]
    (tmp_path / "solutions" / source.name).write_text(source.read_text())
    (tmp_path / "exercises" / source.name).write_text(
        (COURSE_DIR / "exercises" / source.name).read_text().replace("softmax", "soft-max")
    )
    (tmp_path / "exercises" / "extra.ipynb").write_text("{}")
    assert sorted(stale(tmp_path)) == [
        f"{source.name}: out of date",
        "extra.ipynb: no solution notebook for it",
    ]


def test_strip_source_stubs_answers_and_drops_hidden_tests():
    source = (
        'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x\n'
        "    ### END SOLUTION\n\ncheck.close('a', f(1), expected=1)\n"
        "### BEGIN HIDDEN TESTS\ncheck.close('b', f(2), expected=2)\n### END HIDDEN TESTS\n"
    )
    out = strip_source(source)
    assert f"    # YOUR CODE HERE\n    {STUB}\n" in out
    assert "return x" not in out and "HIDDEN" not in out and "'b'" not in out
    assert "check.close('a'" in out
    ast.parse(out)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_notebook_format(path):
    nb = load(path)
    meta = nb["metadata"]["course"]
    assert meta["exercise"] == path.stem and path.stem.startswith(meta["lesson"] + "_")
    assert nb["metadata"]["kernelspec"]["name"] == "attention-course"
    answers = tests = 0
    ids = []
    for cell in nb["cells"]:
        grader = cell.get("metadata", {}).get("nbgrader")
        if not grader:
            continue
        ids.append(grader["grade_id"])
        source = "".join(cell["source"])
        if grader["solution"]:
            answers += 1
            assert grader == {
                "solution": True,
                "grade": False,
                "locked": False,
                "grade_id": grader["grade_id"],
                "schema_version": 3,
            }
            assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source
        else:
            tests += 1
            assert grader["grade"] is True and grader["locked"] is True and grader["points"] > 0
            tree = ast.parse(source)
            # every graded cell compares at least one value (a guess cannot pass it) ...
            assert any(
                isinstance(n, ast.Call) and getattr(n.func, "attr", "") in ("close", "equal")
                for n in ast.walk(tree)
            ), grader["grade_id"]
            # ... and computes reference results only inside expected= (stripped by the grader)
            assert names_only_expected_uses(source) == set(), grader["grade_id"]
            stripped = strip_expected(source)
            assert _expected_args(ast.parse(stripped)) == []
    assert answers >= 1 and tests >= 3 and len(ids) == len(set(ids))


def test_names_only_expected_uses_flags_references_in_variables():
    bad = "x = 1\nref = torch.softmax(x)\ncheck.close('n', f(x), expected=ref)"
    good = "x = 1\ncheck.close('n', f(x), expected=torch.softmax(x))"
    assert names_only_expected_uses(bad) == {"ref"}
    assert names_only_expected_uses(good) == set()


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercises_hold_no_answers_or_hidden_tests(path):
    text = path.read_text()
    solution = load(COURSE_DIR / "solutions" / path.name)
    assert "BEGIN SOLUTION" not in text and "HIDDEN" not in text
    nb = json.loads(text)
    assert nb["metadata"]["course"]["role"] == "exercise"
    assert all(c.get("outputs", []) == [] for c in nb["cells"] if c["cell_type"] == "code")
    assert nb == make_exercise(solution)
    n_answers = sum(c.kind == "answer" for c in solution_cells(solution))
    assert text.count("NotImplementedError") >= n_answers


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_forbidden_references_are_named_with_the_right_pronoun(path):
    import re

    intro = "".join(load(path)["cells"][0]["source"])
    sentence = re.search(
        r"does not accept an answer that calls (.*?) \(the tests use (\w+) ", intro
    )
    if load(path)["metadata"]["course"].get("kind") == "predict":  # nothing to forbid there
        assert not load(path)["metadata"]["course"]["forbidden"] and sentence is None
        assert "whether it\nis right is decided by hidden tests" in intro, "says how it is graded"
        return
    assert sentence, "the exercise names the references the grader forbids"
    count = len(re.findall(r"`[^`]+`", sentence[1]))
    assert sentence[2] == ("it" if count == 1 else "them"), (count, sentence[2])


def test_learner_copy_adds_missing_exercises_and_never_overwrites(tmp_path):
    from course_lib.tools.exercises import learner_copy

    (tmp_path / "exercises").mkdir()
    for name in ("01_a.ipynb", "02_b.ipynb"):
        (tmp_path / "exercises" / name).write_text('{"stub": true}')
    assert [p.name for p in learner_copy(tmp_path, "mine")] == ["01_a.ipynb", "02_b.ipynb"]
    (tmp_path / "mine" / "01_a.ipynb").write_text('{"my": "work"}')
    (tmp_path / "exercises" / "03_c.ipynb").write_text('{"stub": true}')  # a new exercise
    assert [p.name for p in learner_copy(tmp_path, "mine")] == ["03_c.ipynb"]
    assert (tmp_path / "mine" / "01_a.ipynb").read_text() == '{"my": "work"}'


def test_the_learner_folder_is_ignored_by_git():
    lines = (COURSE_DIR / ".gitignore").read_text().splitlines()
    assert "/my_work/" in lines


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_common_mistakes_come_from_the_library_not_inline(path):
    """A mistake's value is the answer with one thing changed: computed inline in a test cell
    it would show the learner the answer, so every ``mistakes=`` calls
    ``course_lib.common_mistakes``."""
    for cell in load(path)["cells"]:
        if not cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            for kw in getattr(node, "keywords", []) if isinstance(node, ast.Call) else []:
                if kw.arg == "mistakes":
                    value = kw.value
                    assert isinstance(value, ast.Call) and ast.unparse(value.func).startswith(
                        "common_mistakes."
                    ), (path.stem, ast.unparse(value)[:80])
