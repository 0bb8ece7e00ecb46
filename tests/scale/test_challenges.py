"""Lesson 07's challenges table: every challenge of the outline, every number from a real metric."""

from __future__ import annotations

import json

import pytest

from course_lib.record import RESULTS_FILE
from course_lib.scale.challenges import (
    CHALLENGES,
    challenges_table,
    evidence_text,
    lesson_metrics,
    metric_names,
)

OUTLINE = {
    "Computational cost",
    "Memory",
    "Over-fitting",
    "Instability",
    "Implementation complexity",
    "Interpretability",
}


def test_every_challenge_of_the_outline_has_a_remedy_and_evidence():
    assert {c.name for c in CHALLENGES} == OUTLINE
    for challenge in CHALLENGES:
        assert challenge.remedies and challenge.evidence
        for _, template in challenge.evidence:
            assert metric_names(template), template


def test_every_metric_named_is_one_make_bench_records():
    results = json.loads(RESULTS_FILE.read_text())
    for challenge in CHALLENGES:
        for lesson, template in challenge.evidence:
            recorded = lesson_metrics(lesson, results)
            for name in metric_names(template):
                assert name in recorded, f"lesson {lesson} records no metric {name!r}"


def test_the_table_shows_the_recorded_numbers_and_prefers_this_runs():
    results = {
        "lessons": {
            "03_x": {"metrics": {"attention_time_exponent": 1.91}},
            "07_y": {"metrics": {"tiled_memory_ratio_n8192": 50.0}},
        }
    }
    table = challenges_table(current={"tiled_memory_ratio_n8192": 140.0}, results=results)
    assert "$n^{1.91}$" in table
    assert "140x less than naive" in table and "50x" not in table
    assert table.count("\n") == len(CHALLENGES) + 1  # header, rule, one row per challenge


def test_a_metric_not_measured_yet_names_the_command_that_measures_it():
    text = evidence_text("06", "{gradcam_pointing_game:.0%}", {"lessons": {}})
    assert "gradcam_pointing_game" in text and "make bench LESSON=06" in text
    with pytest.raises(ValueError, match="lesson: expected two digits"):
        lesson_metrics("3", {"lessons": {}})
