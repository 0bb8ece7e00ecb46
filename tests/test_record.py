"""Recording headline numbers (course_lib.record)."""

import json
import math

import pytest

from course_lib.record import ENV_VAR, Measurements, record


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


def test_measurements_collect_records_and_show_one_line_each(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    measured = Measurements()
    assert "Nothing was recorded" in measured._repr_markdown_()
    measured.append(record("first_metric", 1.5, "one"))
    measured.append(record("second_metric", 2, "two"))
    lines = measured._repr_markdown_().splitlines()
    assert lines == [
        "- **Measured** `first_metric` = **1.5** — one",
        "- **Measured** `second_metric` = **2** — two",
    ]
    with pytest.raises(TypeError, match="record"):
        measured.append(1.5)
