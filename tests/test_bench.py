"""Recording headline numbers and rendering BENCHMARKS.md."""

import json
import math

import pytest

from course_lib.bench import ENV_VAR, record
from course_lib.benchmark import render


def test_record_writes_to_the_bench_file(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    monkeypatch.setenv(ENV_VAR, str(target))
    shown = record("mt_exact_match", 0.5, "exact match on the test set")
    record("other_metric", 2)
    assert json.loads(target.read_text()) == {"mt_exact_match": 0.5, "other_metric": 2.0}
    assert "`mt_exact_match` = **0.5**" in shown._repr_markdown_()
    assert float(shown) == 0.5


def test_record_without_bench_file_only_returns(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert record("x", 1.0).value == 1.0
    assert record("stn_error_RTS", 0.5).name == "stn_error_RTS"  # a variant's name keeps its case
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, value, error",
    [
        ("Bad Name", 1.0, ValueError),
        ("ok", math.nan, ValueError),
        ("ok", "high", TypeError),
    ],
)
def test_record_rejects_bad_input(name, value, error):
    with pytest.raises(error, match="name" if name != "ok" else "value"):
        record(name, value)


def test_render_lists_every_lesson_with_its_budget():
    results = {
        "lessons": {
            "00_start_here": {"seconds": 3.0, "metrics": {}},
            "01_attention_recap": {"seconds": 200.0, "metrics": {"a_b": 0.25}},
        },
        "machine": {
            "platform": "linux",
            "cpus": 2,
            "python": "3.11",
            "torch": "2.13.0",
            "torch_threads": 2,
        },
    }
    text = render(results)
    assert "| 00_start_here | 3.0 | yes | - |" in text
    assert "| 01_attention_recap | 200.0 | **no** | `a_b` = 0.25 |" in text
    assert "Measured total: **203 s**" in text
    results["grader"] = {
        "exercise": "01_x",
        "submissions": 100,
        "jobs": 2,
        "seconds": 30.0,
        "grader_submissions_per_minute": 200.0,
        "isolation": "namespace",
    }
    assert "`grader_submissions_per_minute` = **200**" in render(results)


def test_grader_throughput_grades_a_small_class():
    from course_lib.benchmark import grader_throughput

    measured = grader_throughput("01_masked_softmax", n=4)
    assert measured["submissions"] == 4 and measured["grader_submissions_per_minute"] > 0
