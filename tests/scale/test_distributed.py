"""Tests of course_lib.scale.distributed: tensor-parallel attention and one DDP step equal the
single-process computation; the launcher reports a failing rank, times out, survives Ctrl-C and
never leaves a process behind; it all works with no network but loopback (``unshare -n``).

The workers below are top-level functions of this module: each rank imports them by name."""

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest
import torch
import torch.distributed as dist

from course_lib.core.transformer import MultiHeadAttention, TransformerConfig
from course_lib.scale.distributed import (
    SMALL,
    TensorParallelAttention,
    all_reduce_bytes,
    ddp_gradient_max_abs_diff,
    distributed_checks,
    parameter_counts,
    run_on_ranks,
    tensor_parallel_max_abs_diff,
)

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5

pytestmark = pytest.mark.usefixtures("one_thread", "no_process_left")


# --------------------------------------------------------------------------- workers


def _sum_of_ranks(rank, world_size):
    x = torch.tensor([float(rank)])
    dist.all_reduce(x)
    return rank, world_size, x.item()


def _fail_on_rank_one(rank, world_size):
    if rank == 1:
        raise ValueError("rank one is broken")
    dist.barrier()  # waits for rank 1 forever: the launcher must stop it


def _exit_on_rank_one(rank, world_size):
    if rank == 1:
        os._exit(3)
    dist.barrier()


def _return_a_lambda(rank, world_size):
    return lambda: rank


def _sleep(rank, world_size, seconds):
    time.sleep(seconds)


# --------------------------------------------------------------------------- processes


def _wait_for_ranks(count: int, root: int, seconds: float = 60.0) -> None:
    """Wait until ``count`` ranks run below process ``root``: children of its fork server."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            servers = psutil.Process(root).children()
            running = [
                child
                for server in servers
                for child in server.children()
                if child.status() != psutil.STATUS_ZOMBIE  # an earlier test's rank being reaped
            ]
            if len(running) >= count:
                return
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{count} ranks below process {root} never started")


# --------------------------------------------------------------------------- the checks


def test_both_checks_in_one_launch_match_one_process():
    diffs = distributed_checks(seed=0)
    assert set(diffs) == {"tensor parallel", "ddp gradient", "ddp parameters"}
    assert all(0 <= diff <= TOLERANCE for diff in diffs.values()), diffs


def test_each_check_alone_and_on_four_ranks():
    assert tensor_parallel_max_abs_diff(seed=1) <= TOLERANCE
    assert tensor_parallel_max_abs_diff(seed=2, world_size=4, batch=3, length=4) <= TOLERANCE
    assert ddp_gradient_max_abs_diff(seed=1) <= TOLERANCE
    assert ddp_gradient_max_abs_diff(seed=2, world_size=4, batch=8) <= TOLERANCE


def test_the_shards_hold_the_full_layer_once():
    torch.manual_seed(0)
    full = MultiHeadAttention(SMALL)
    shards = [TensorParallelAttention(full, rank, 2) for rank in range(2)]
    for name in ("q_proj", "k_proj", "v_proj"):  # column-parallel: rows
        rows = torch.cat([getattr(shard, name).weight for shard in shards])
        assert torch.equal(rows, getattr(full, name).weight)
        biases = torch.cat([getattr(shard, name).bias for shard in shards])
        assert torch.equal(biases, getattr(full, name).bias)
    columns = torch.cat([shard.out_proj.weight for shard in shards], dim=1)  # row-parallel
    assert torch.equal(columns, full.out_proj.weight)
    assert all(torch.equal(shard.out_bias, full.out_proj.bias) for shard in shards)
    counts = parameter_counts(SMALL, world_size=2)
    assert counts == {"full": 4 * (32 * 32 + 32), "per rank": (4 * 32 * 32 + 3 * 32) // 2 + 32}
    assert all_reduce_bytes(2, 5) == 2 * 5 * 32 * 4


# --------------------------------------------------------------------------- the launcher


def test_results_come_back_in_rank_order():
    assert run_on_ranks(_sum_of_ranks, world_size=3) == [(r, 3, 3.0) for r in range(3)]


def test_a_failing_rank_is_named_with_its_traceback():
    with pytest.raises(RuntimeError, match="rank 1 of 2 failed") as error:
        run_on_ranks(_fail_on_rank_one, timeout=60)
    assert "Traceback" in str(error.value)
    assert "ValueError: rank one is broken" in str(error.value)


def test_a_rank_that_dies_or_returns_the_unpicklable_is_reported():
    with pytest.raises(RuntimeError, match=r"rank 1 of 2 exited \(code 3\) with no result"):
        run_on_ranks(_exit_on_rank_one, timeout=60)
    with pytest.raises(RuntimeError, match="rank [01] of 2 failed(.|\n)*pickle"):
        run_on_ranks(_return_a_lambda, timeout=60)


def test_a_timeout_stops_every_rank():
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"rank\(s\) \[0, 1\] gave no result within 1.5 s"):
        run_on_ranks(_sleep, args=(60,), timeout=1.5)
    assert time.monotonic() - start < 30


def test_ctrl_c_while_waiting_stops_every_rank():
    def interrupt():
        _wait_for_ranks(2, os.getpid())
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt, daemon=True).start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            run_on_ranks(_sleep, args=(60,), timeout=60)
        assert time.monotonic() - start < 30
    finally:
        signal.signal(signal.SIGINT, previous)


def _python(code: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.Popen(command, cwd=ROOT, env=env, text=True, **kwargs)


def test_interrupting_a_notebook_kernel_leaves_no_process():
    """Jupyter interrupts a kernel with SIGINT to its whole process group: the ranks ignore it,
    the launcher stops them, and once the kernel exits nothing of its session is left."""
    kernel = _python(
        """
        from course_lib.scale.distributed import run_on_ranks
        from tests.scale.test_distributed import _sleep
        try:
            run_on_ranks(_sleep, args=(60,), timeout=60)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        """,
        stdout=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a kernel has
    )
    try:
        _wait_for_ranks(2, kernel.pid)
        os.killpg(kernel.pid, signal.SIGINT)
        out, _ = kernel.communicate(timeout=60)
    finally:
        kernel.kill()
        kernel.wait()
    assert out.strip() == "interrupted"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        session = [p.pid for p in psutil.process_iter() if _session(p) == kernel.pid]
        if not session:
            break
        time.sleep(0.1)
    assert not session, f"processes of the interrupted kernel left: {session}"


def _session(process: psutil.Process) -> int | None:
    try:
        return os.getsid(process.pid)
    except OSError:
        return None


def test_it_works_with_no_network_but_loopback():
    """In a new network namespace (``unshare -n``) the only interface is loopback."""
    code = """
        import socket
        from course_lib.scale.distributed import distributed_checks
        print([name for _, name in socket.if_nameindex()])
        print(max(distributed_checks().values()))
        """
    python = f"{shlex.quote(sys.executable)} -c {shlex.quote(textwrap.dedent(code))}"
    command = ["unshare", "-n", "sh", "-c", f"ip link set lo up && {python}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    except FileNotFoundError as error:
        pytest.fail(f"this test needs `unshare` (util-linux) and `ip` (iproute2): {error}")
    if done.returncode and "unshare" in done.stderr and "ermi" in done.stderr:
        pytest.fail(f"`unshare -n` is not permitted here (it needs root): {done.stderr}")
    assert done.returncode == 0, done.stderr
    interfaces, diff = done.stdout.splitlines()
    assert interfaces == "['lo']"
    assert float(diff) <= TOLERANCE


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: run_on_ranks(lambda rank, world_size: 0), ValueError, "top-level function"),
        (lambda: run_on_ranks(3), TypeError, "worker: expected a function"),
        (lambda: run_on_ranks(_sleep, world_size=0), ValueError, "world_size: expected an int"),
        (lambda: run_on_ranks(_sleep, world_size=True), ValueError, "world_size"),
        (lambda: run_on_ranks(_sleep, world_size=17), ValueError, r"world_size: .*\[1, 16\]"),
        (lambda: run_on_ranks(_sleep, args=[1]), TypeError, "args: expected a tuple"),
        (lambda: run_on_ranks(_sleep, timeout=0), ValueError, "timeout: expected a finite"),
        (lambda: run_on_ranks(_sleep, timeout=float("inf")), ValueError, "timeout"),
        (lambda: run_on_ranks(_sleep, timeout="5"), ValueError, "timeout"),
        (
            lambda: TensorParallelAttention(MultiHeadAttention(SMALL), 0, 3),
            ValueError,
            "world_size: must divide n_heads = 4",
        ),
        (
            lambda: TensorParallelAttention(MultiHeadAttention(SMALL), 2, 2),
            ValueError,
            r"rank: expected an int in \[0, 1\], got 2",
        ),
        (lambda: TensorParallelAttention(SMALL, 0, 2), TypeError, "full: expected a Multi"),
        (lambda: tensor_parallel_max_abs_diff(world_size=3), ValueError, "must divide n_heads"),
        (lambda: ddp_gradient_max_abs_diff(batch=3), ValueError, "batch: must be a multiple"),
        (lambda: distributed_checks(seed=0.5), TypeError, "seed: expected an int"),
        (lambda: distributed_checks(config=16), TypeError, "config: expected a Transformer"),
        (
            lambda: distributed_checks(config=TransformerConfig(16, 2, 16), world_size=4),
            ValueError,
            "world_size: must divide n_heads = 2",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
