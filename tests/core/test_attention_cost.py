"""Measuring attention's cost: the methods agree, memory and time are measured, slopes fit."""

import math

import pytest
import torch

from course_lib.core.attention_cost import (
    METHODS,
    CostCurve,
    attention_fn,
    fitted_exponent,
    loglog_slope,
    measure,
    min_seconds,
    peak_tensor_bytes,
)
from course_lib.core.local_attention import dense_local_attention


def test_methods_compute_attention():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 1, 2, 40, 8).unbind(0)
    naive, sdpa = attention_fn("naive")(q, k, v), attention_fn("sdpa")(q, k, v)
    assert torch.allclose(naive, sdpa, atol=1e-5)
    local = attention_fn("local", window=3)(q, k, v)
    assert torch.allclose(local, dense_local_attention(q, k, v, 3)[0], atol=1e-5)
    with pytest.raises(ValueError, match="method"):
        attention_fn("flash")


def test_peak_bytes_see_the_n_by_n_matrix_only_where_it_exists():
    torch.set_num_threads(1)
    n, d = 256, 16
    q, k, v = torch.randn(3, 1, 1, n, d).unbind(0)
    square = n * n * 4  # one float32 (n, n) matrix
    assert peak_tensor_bytes(attention_fn("naive"), q, k, v) >= 2 * square
    assert peak_tensor_bytes(attention_fn("sdpa"), q, k, v) < square / 4
    q2, k2, v2 = torch.randn(3, 1, 1, 2 * n, d).unbind(0)  # twice as long
    growth = {
        m: peak_tensor_bytes(attention_fn(m, 4), q2, k2, v2)
        / peak_tensor_bytes(attention_fn(m, 4), q, k, v)
        for m in METHODS
    }
    assert growth["naive"] == pytest.approx(4, rel=0.1)
    assert growth["sdpa"] == pytest.approx(2, rel=0.1)
    assert growth["local"] == pytest.approx(2, rel=0.1)
    assert peak_tensor_bytes(lambda a: a * 2, torch.zeros(1000)) == 4000


def test_slopes_and_measurements():
    assert loglog_slope([1, 2, 4, 8], [3, 12, 48, 192]) == pytest.approx(2.0)
    curve = CostCurve("x", (10, 20, 40, 80), (1.0, 1.0, 2.0, 4.0), (1, 2, 4, 8))
    assert fitted_exponent(curve, last=3) == pytest.approx(1.0)
    assert fitted_exponent(curve, "peak_bytes", last=4) == pytest.approx(1.0)
    assert fitted_exponent(curve, "peak_bytes") == pytest.approx(1.0)  # all 4 lengths
    assert fitted_exponent(curve) == pytest.approx(loglog_slope(curve.ns, curve.seconds))
    with pytest.raises(ValueError, match="last"):
        fitted_exponent(curve, last=5)
    with pytest.raises(ValueError, match="log-log"):
        loglog_slope([1, 2], [0, 1])
    measured = measure("naive", (64, 128, 256), heads=1, d=8, repeats=1)
    assert len(measured.seconds) == 3 and all(s > 0 for s in measured.seconds)
    assert fitted_exponent(measured, "peak_bytes", last=2) == pytest.approx(2.0, abs=0.1)
    assert set(METHODS) == {"naive", "sdpa", "local"}
    assert math.isfinite(min_seconds(lambda: None, repeats=2))
    with pytest.raises(ValueError, match="ns"):
        measure("sdpa", (64, 32))
    with pytest.raises(ValueError, match="clock"):
        measure("sdpa", (32, 64), threads=2)
    with pytest.raises(ValueError, match="clock"):
        min_seconds(lambda: None, clock="gpu")
    assert min_seconds(lambda: sum(range(20_000)), repeats=2, clock="thread") > 0
