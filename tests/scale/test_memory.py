"""Tests of course_lib.scale.memory and course_lib.scale.costs: a worker in a fresh child returns
its value or a clear error (exception, death, timeout) and leaves no process behind; the peak
memory of naive attention grows as n^2 and is its (n, n) scores and weights, the tiled and fused
forms stay far below.

The workers below are top-level functions of this module (``tests.scale.test_memory``): the
child forked from the fork server imports them by name."""

import os
import time

import pytest
import torch

from course_lib.scale.costs import (
    METHODS,
    MemoryCurve,
    attention_method,
    attention_peak_bytes,
    memory_curve,
)
from course_lib.scale.memory import in_child, peak_here

pytestmark = pytest.mark.usefixtures("one_thread", "no_process_left")

MIB = 2**20


# --------------------------------------------------------------------------- workers


def _add(a, b):
    return {"sum": a + b, "pid": os.getpid(), "threads": torch.get_num_threads()}


def _raise(message):
    raise ValueError(message)


def _die(code):
    os._exit(code)


def _sleep(seconds):
    time.sleep(seconds)
    return "woke up"


def _peak_of_a_buffer(mib):
    return peak_here(lambda: torch.ones(mib * MIB // 4).sum())


# --------------------------------------------------------------------------- processes


# --------------------------------------------------------------------------- in_child


def test_in_child_returns_the_workers_value_from_another_process():
    result = in_child(_add, 2, 3)
    assert result["sum"] == 5
    assert result["pid"] != os.getpid()
    assert result["threads"] == 1  # measurements run on one thread
    assert in_child(_add, [1], [2], for_memory=False)["sum"] == [1, 2]


def test_in_child_reports_the_workers_exception():
    with pytest.raises(RuntimeError, match="failed in the child process: ValueError: no luck"):
        in_child(_raise, "no luck")


def test_in_child_reports_a_child_that_dies():
    with pytest.raises(RuntimeError, match="the child process exited with code 7"):
        in_child(_die, 7)


def test_in_child_times_out_and_stops_the_child():
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="timeout: the measurement took over 0.5 s"):
        in_child(_sleep, 30, timeout=0.5)
    assert time.monotonic() - start < 10  # the sleeping child was killed, not waited for
    assert in_child(_sleep, 0.01, timeout=60) == "woke up"


def test_peak_here_sees_a_buffer_of_known_size():
    peak = in_child(_peak_of_a_buffer, 64)
    assert 64 * MIB <= peak < 64 * MIB * 1.2


# --------------------------------------------------------------------------- costs


def test_naive_peak_is_the_scores_and_weights_and_grows_as_n_squared():
    small, large = (attention_peak_bytes("naive", n) for n in (1024, 2048))
    assert 3 < large / small < 5
    for n, peak in ((1024, small), (2048, large)):
        scores_and_weights = 2 * n * n * 4  # two float32 (n, n) matrices
        assert scores_and_weights <= peak < 1.3 * scores_and_weights, n


def test_tiled_and_fused_attention_need_a_fraction_of_naive_memory():
    n = 4096
    naive = attention_peak_bytes("naive", n)
    assert naive >= 2 * n * n * 4
    for method in ("tiled", "sdpa"):
        peak = attention_peak_bytes(method, n)
        assert peak < naive / 10, method


def test_memory_curves_fit_the_exponents():
    naive = memory_curve("naive", [512, 1024, 2048])
    assert isinstance(naive, MemoryCurve) and naive.ns == (512, 1024, 2048)
    assert len(naive.peak_bytes) == 3 and naive.peak_bytes == tuple(sorted(naive.peak_bytes))
    assert 1.7 <= naive.exponent <= 2.3
    tiled = memory_curve("tiled", [1024, 2048, 4096])
    assert tiled.exponent <= 1.2
    assert tiled.peak_bytes[-1] < naive.peak_bytes[1] / 2  # 4096 tokens tiled < half of 1024 naive


def test_methods_compute_the_same_attention():
    q, k, v = torch.randn(3, 1, 2, 300, 16, generator=torch.Generator().manual_seed(0)).unbind(0)
    reference = attention_method("sdpa")(q, k, v)
    for method in METHODS:
        assert torch.allclose(attention_method(method, block=64)(q, k, v), reference, atol=1e-5)


def test_bad_methods_and_lengths_are_named():
    with pytest.raises(ValueError, match="method: expected one of"):
        attention_peak_bytes("flash", 64)
    with pytest.raises(ValueError, match="method: expected one of"):
        memory_curve("flash", [64, 128])
    with pytest.raises(ValueError, match="n: expected a positive int, got 0"):
        attention_peak_bytes("naive", 0)
    with pytest.raises(ValueError, match="d: expected a positive int, got -1"):
        attention_peak_bytes("naive", 64, d=-1)
    with pytest.raises(ValueError, match="block: expected a positive int, got 0"):
        attention_peak_bytes("tiled", 64, block=0)
    with pytest.raises(ValueError, match="ns: expected increasing lengths"):
        memory_curve("naive", [128, 64])
    with pytest.raises(ValueError, match="ns: expected increasing lengths"):
        memory_curve("naive", [64, 64])
    with pytest.raises(ValueError, match="ns: expected increasing lengths"):
        memory_curve("naive", [])
