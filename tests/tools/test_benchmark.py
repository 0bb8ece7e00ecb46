"""Rendering BENCHMARKS.md and measuring the grader (course_lib.tools.benchmark)."""

from course_lib.tools.benchmark import render


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
    from course_lib.tools.benchmark import grader_throughput

    measured = grader_throughput("01_masked_softmax", n=4)
    assert measured["submissions"] == 4 and measured["grader_submissions_per_minute"] > 0
