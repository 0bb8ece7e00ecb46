import pytest

from course_lib.environment import matmul_gflops, setup_report


def test_setup_report_passes_in_the_course_environment():
    items = setup_report()
    failing = [(i.name, i.value, i.fix) for i in items if not i.ok]
    assert failing == []
    assert {"Python", "torch 2.13.0", "exercises/ folder"} <= {i.name for i in items}


def test_matmul_speed_is_measured():
    assert matmul_gflops(64, 2) > 0
    with pytest.raises(ValueError, match="n and repeats"):
        matmul_gflops(0)
