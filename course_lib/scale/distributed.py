"""Attention split across processes with a real distributed engine: ``torch.distributed``.

Two processes ("ranks") on this machine talk through the gloo backend over the loopback
interface, as the GPUs of one server talk through NCCL. Two ways to split the work:

- **tensor parallelism** (Megatron-LM, Shoeybi et al. 2019): every rank holds only its share of
  the heads of one multi-head attention layer. The query, key and value projections are split
  by output features (column-parallel: the rows of ``W`` for the rank's heads), the output
  projection by input features (row-parallel: its columns for those heads). Each rank computes
  its heads' attention and a partial output; one ``all_reduce`` (sum) adds the partial outputs,
  and the output bias is added once. :class:`TensorParallelAttention`.
- **data parallelism**: every rank holds the whole model and takes a slice of the batch;
  ``DistributedDataParallel`` averages the gradients during ``backward``, so one step on two
  half-batches equals one step on the full batch. :func:`ddp_gradient_max_abs_diff`.

:func:`run_on_ranks` starts the ranks from a notebook and collects what each returns. A worker
must live in an importable module (like this one), not in the notebook: each rank is another
process, which finds the worker by its module and name.

Shapes: ``x`` (batch, T, d_model); ``d_model = n_heads * d_head``; a rank holds
``local_heads = n_heads / world_size`` heads, ``width = local_heads * d_head`` features.
"""

from __future__ import annotations

import copy
import math
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from multiprocessing.connection import Connection, wait

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from course_lib.core.attention import attention
from course_lib.core.shapes import expect_int, expect_positive_int, expect_shape
from course_lib.core.transformer import MultiHeadAttention, TransformerBlock, TransformerConfig
from course_lib.scale.processes import context
from course_lib.train.utils import count_parameters

SMALL = TransformerConfig(d_model=32, n_heads=4, d_ff=64)
MAX_RANKS = 16  # processes on this one machine
_GRACE_S = 5.0  # how long a rank may take to exit before it is terminated, then killed

# --------------------------------------------------------------------------- the launcher


def _free_port() -> int:
    """A TCP port nobody listens on now: bind port 0 and the OS picks one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _loopback_name() -> str:
    """The loopback interface's name: ``lo`` on Linux, ``lo0`` on macOS."""
    names = [name for _, name in socket.if_nameindex()]
    return next((name for name in names if name.startswith("lo")), "lo")


def _rank_main(
    rank: int,
    world_size: int,
    port: int,
    timeout: float,
    worker: Callable[..., object],
    args: tuple,
    conn: Connection,
) -> None:
    """What each child process runs: join the process group, run the worker, send back
    ``("ok", result)`` or ``("error", traceback)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME=_loopback_name()
    )
    try:
        dist.init_process_group(
            "gloo", rank=rank, world_size=world_size, timeout=timedelta(seconds=timeout)
        )
        reply = ("ok", worker(rank, world_size, *args))
    except BaseException:  # report it, never leave the parent waiting
        reply = ("error", traceback.format_exc())
    try:
        conn.send(reply)
    except Exception:  # e.g. a result that cannot be pickled
        conn.send(("error", traceback.format_exc()))
    conn.close()
    if dist.is_initialized():
        dist.destroy_process_group()


def _check_worker(worker: object) -> None:
    if not callable(worker):
        raise TypeError(f"worker: expected a function, got {type(worker).__name__}")
    module = getattr(worker, "__module__", None)
    qualname = getattr(worker, "__qualname__", "")
    if module in (None, "__main__") or "<" in qualname:  # notebook, lambda or nested function
        raise ValueError(
            f"worker: must be a top-level function of an importable module (each rank imports "
            f"it by name), got {module}.{qualname}; move it into a .py file"
        )


def run_on_ranks(
    worker: Callable[..., object],
    world_size: int = 2,
    args: tuple = (),
    timeout: float = 120.0,
) -> list:
    """Run ``worker(rank, world_size, *args)`` in ``world_size`` processes joined in one gloo
    process group on this machine's loopback interface; return each rank's result (picklable)
    in rank order.

    A rank that raises makes this raise ``RuntimeError`` with the rank and its traceback; no
    result within ``timeout`` seconds raises ``TimeoutError``. Whatever happens (also Ctrl-C or
    an interrupted notebook cell), every child process is terminated, then killed, and joined.
    """
    _check_worker(worker)
    world_size = expect_positive_int(world_size, "world_size", maximum=MAX_RANKS)
    if not isinstance(args, tuple):
        raise TypeError(f"args: expected a tuple, got {type(args).__name__}")
    ok = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not (ok and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout: expected a finite number of seconds > 0, got {timeout!r}")

    ctx, port = context(), _free_port()
    processes: list[mp.process.BaseProcess] = []
    receivers: list[Connection] = []  # the parent's end of each rank's pipe
    results: dict[int, object] = {}
    try:
        for rank in range(world_size):
            receiver, sender = ctx.Pipe(duplex=False)
            receivers.append(receiver)
            process = ctx.Process(
                target=_rank_main,
                args=(rank, world_size, port, timeout, worker, args, sender),
                name=f"rank-{rank}",
                daemon=True,
            )
            processes.append(process)
            with _interrupts_held():  # a Ctrl-C mid-start would leave a child whose pid is unknown
                process.start()
            sender.close()  # the child holds it now; its exit then reads as end-of-file here
        deadline = time.monotonic() + timeout
        while len(results) < world_size:
            waiting = [r for rank, r in enumerate(receivers) if rank not in results]
            ready = wait(waiting, timeout=max(deadline - time.monotonic(), 0))
            if not ready:
                late = [rank for rank in range(world_size) if rank not in results]
                raise TimeoutError(f"timeout: rank(s) {late} gave no result within {timeout} s")
            for receiver in ready:
                rank = receivers.index(receiver)
                try:
                    status, value = receiver.recv()
                except EOFError:  # died without a word: killed, out of memory, segfault
                    processes[rank].join(_GRACE_S)
                    code = processes[rank].exitcode
                    raise RuntimeError(
                        f"rank {rank} of {world_size} exited (code {code}) with no result; "
                        "its own messages went to the terminal that started Python or Jupyter"
                    ) from None
                if status != "ok":
                    raise RuntimeError(f"rank {rank} of {world_size} failed:\n{value}")
                results[rank] = value
    finally:
        with _interrupts_held():  # a second Ctrl-C must not cut the clean-up short
            _stop(processes, grace=_GRACE_S if len(results) == world_size else 0.0)
            for receiver in receivers:
                receiver.close()
    return [results[rank] for rank in range(world_size)]


def _stop(processes: list[mp.process.BaseProcess], grace: float) -> None:
    """Let each process exit within ``grace`` seconds, then terminate (SIGTERM), then kill."""
    processes = [process for process in processes if process.pid is not None]  # started
    for process in processes:
        process.join(grace)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) during the block and raise ``KeyboardInterrupt`` after it."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield  # only the main thread may set handlers; None: a handler not set from Python
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- tensor parallelism


class TensorParallelAttention(nn.Module):
    """This rank's share of ``full`` (a :class:`MultiHeadAttention`): heads
    ``rank * local_heads ... (rank + 1) * local_heads - 1``, with ``local_heads = n_heads /
    world_size``. ``forward`` needs the process group (:func:`run_on_ranks`) and returns the
    full layer's output on every rank and this rank's heads' weights.

    Forward only: ``dist.all_reduce`` is not recorded by autograd (Megatron-LM wraps it in an
    autograd function whose backward is the identity, and all-reduces the input's gradient)."""

    def __init__(self, full: MultiHeadAttention, rank: int, world_size: int) -> None:
        super().__init__()
        if not isinstance(full, MultiHeadAttention):
            raise TypeError(f"full: expected a MultiHeadAttention, got {type(full).__name__}")
        world_size = expect_positive_int(world_size, "world_size")
        rank = expect_positive_int(rank, "rank", minimum=0, maximum=world_size - 1)
        config = full.config
        if config.n_heads % world_size:
            raise ValueError(
                f"world_size: must divide n_heads = {config.n_heads} so that every rank holds "
                f"the same number of heads, got {world_size}"
            )
        self.rank, self.world_size = rank, world_size
        self.local_heads, self.d_head = config.n_heads // world_size, config.d_head
        d, width = config.d_model, config.n_heads // world_size * config.d_head
        mine = slice(rank * width, (rank + 1) * width)  # this rank's heads' features
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(d, width) for _ in range(3))
        self.out_proj = nn.Linear(width, d, bias=False)  # its bias is added once, after the sum
        self.out_bias = nn.Parameter(full.out_proj.bias.detach().clone())  # (d,)
        with torch.no_grad():
            for name in ("q_proj", "k_proj", "v_proj"):  # column-parallel: rows of W (out, in)
                shard, whole = getattr(self, name), getattr(full, name)
                shard.weight.copy_(whole.weight[mine])  # (width, d)
                shard.bias.copy_(whole.bias[mine])  # (width,)
            self.out_proj.weight.copy_(full.out_proj.weight[:, mine])  # row-parallel: (d, width)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape  # (batch, L, width)
        x = x.reshape(batch, length, self.local_heads, self.d_head).transpose(1, 2)
        return x.reshape(batch * self.local_heads, length, self.d_head)  # (b*local_heads, L, dh)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``query`` (batch, T, d), ``key``, ``value`` (batch, S, d), ``mask`` broadcastable to
        (batch, T, S) -> output (batch, T, d), weights (batch, local_heads, T, S)."""
        sizes = expect_shape(query, "batch, T, d_model", name="query")
        batch, length = sizes["batch"], sizes["T"]
        keys = expect_shape(key, "batch, S, d_model", name="key")["S"]
        heads = self.local_heads
        q = self._split(self.q_proj(query))  # (batch*local_heads, T, d_head)
        k = self._split(self.k_proj(key))  # (batch*local_heads, S, d_head)
        v = self._split(self.v_proj(value))  # (batch*local_heads, S, d_head)
        if mask is not None:
            mask = torch.broadcast_to(mask, (batch, length, keys))  # (batch, T, S)
            mask = mask.repeat_interleave(heads, dim=0)  # (batch*local_heads, T, S)
        out, weights = attention(q, k, v, mask)  # (b*local_heads, T, d_head), (b*lh, T, S)
        out = out.reshape(batch, heads, length, self.d_head).transpose(1, 2)  # (b, T, lh, dh)
        partial = self.out_proj(out.reshape(batch, length, -1))  # (batch, T, d): my heads' part
        dist.all_reduce(partial, op=dist.ReduceOp.SUM)  # (batch, T, d): every rank's parts
        weights = weights.reshape(batch, heads, length, keys)  # (batch, local_heads, T, S)
        return partial + self.out_bias, weights  # (batch, T, d)


def parameter_counts(config: TransformerConfig = SMALL, world_size: int = 2) -> dict[str, int]:
    """Parameters of the whole attention layer and of one rank's share: ``{"full": ...,
    "per rank": ...}``. Every weight is split; only the output bias (d) is on every rank."""
    world_size = _check_split(config, world_size)
    full = MultiHeadAttention(config)
    shard = TensorParallelAttention(full, rank=0, world_size=world_size)
    return {"full": count_parameters(full), "per rank": count_parameters(shard)}


def all_reduce_bytes(
    batch: int, length: int, config: TransformerConfig = SMALL, dtype: torch.dtype = torch.float32
) -> int:
    """Bytes of the tensor each rank all-reduces per forward: the (batch, T, d) output.
    (A ring all-reduce sends ``2 * (world_size - 1) / world_size`` times that per rank.)"""
    batch, length = expect_positive_int(batch, "batch"), expect_positive_int(length, "length")
    _check_split(config, world_size=1)
    return batch * length * config.d_model * torch.empty((), dtype=dtype).element_size()


def _tensor_parallel_worker(
    rank: int, world_size: int, seed: int, batch: int, length: int, config: TransformerConfig
) -> dict[str, float]:
    """On every rank: the same full layer and input (same seed), this rank's share, and the
    largest difference between the split layer and the whole one, without and with a causal
    mask."""
    torch.manual_seed(seed)
    full = MultiHeadAttention(config).eval()
    x = torch.randn(batch, length, config.d_model)  # (batch, T, d)
    causal = torch.ones(length, length, dtype=torch.bool).tril()  # (T, T)
    shard = TensorParallelAttention(full, rank, world_size).eval()
    diffs = {}
    with torch.no_grad():
        for name, mask in (("no mask", None), ("causal", causal)):
            split = shard(x, x, x, mask)[0]  # (batch, T, d), the same on every rank
            whole = full(x, x, x, mask)[0]  # (batch, T, d)
            diffs[name] = (split - whole).abs().max().item()
    return diffs


# --------------------------------------------------------------------------- data parallelism


class _TinyRegressor(nn.Module):
    """One transformer block and a linear head: (batch, T, d) -> (batch, T)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.block, self.head = TransformerBlock(config), nn.Linear(config.d_model, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(x)).squeeze(-1)  # (batch, T)


def _max_diff(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b, strict=True))


def _ddp_worker(
    rank: int, world_size: int, seed: int, batch: int, length: int, config: TransformerConfig
) -> dict[str, float]:
    """One SGD step with DDP on this rank's slice of the batch, next to one single-process step
    on the full batch; the largest gradient and parameter differences."""
    torch.manual_seed(seed)
    single = _TinyRegressor(config)
    x = torch.randn(batch, length, config.d_model)  # (batch, T, d), the same on every rank
    y = torch.randn(batch, length)  # (batch, T)
    replica = copy.deepcopy(single)
    ddp = DistributedDataParallel(replica)  # broadcasts rank 0's parameters, then hooks backward

    F.mse_loss(single(x), y).backward()  # mean over the full batch
    mine = slice(rank * batch // world_size, (rank + 1) * batch // world_size)
    F.mse_loss(ddp(x[mine]), y[mine]).backward()  # mean over my half; DDP averages the grads
    grads = {
        "single": [p.grad for p in single.parameters()],
        "ddp": [p.grad for p in replica.parameters()],
    }
    for model in (single, replica):
        torch.optim.SGD(model.parameters(), lr=0.1).step()
    return {
        "gradient": _max_diff(grads["single"], grads["ddp"]),
        "parameters after a step": _max_diff(list(single.parameters()), list(replica.parameters())),
    }


# --------------------------------------------------------------------------- the checks


def _check_split(config: object, world_size: object, batch: int | None = None) -> int:
    """Validate the arguments of a check; return ``world_size``."""
    world_size = expect_positive_int(world_size, "world_size")
    if not isinstance(config, TransformerConfig):
        raise TypeError(f"config: expected a TransformerConfig, got {type(config).__name__}")
    if config.n_heads % world_size:
        raise ValueError(f"world_size: must divide n_heads = {config.n_heads}, got {world_size}")
    if batch is not None and batch % world_size:
        raise ValueError(f"batch: must be a multiple of world_size = {world_size}, got {batch}")
    return world_size


def _both_worker(
    rank: int, world_size: int, seed: int, batch: int, length: int, config: TransformerConfig
) -> dict[str, dict[str, float]]:
    return {
        "tensor parallel": _tensor_parallel_worker(rank, world_size, seed, batch, length, config),
        "data parallel": _ddp_worker(rank, world_size, seed, batch, length, config),
    }


def distributed_checks(
    seed: int = 0,
    world_size: int = 2,
    batch: int = 4,
    length: int = 6,
    config: TransformerConfig = SMALL,
    timeout: float = 120.0,
) -> dict[str, float]:
    """Both checks in one launch of ``world_size`` ranks (starting processes is the slow part):
    the largest difference, over ranks, between the split computation and the single-process
    one — ``"tensor parallel"`` (outputs, without and with a causal mask), ``"ddp gradient"``,
    ``"ddp parameters"`` (after one SGD step). Each is ~1e-7 in float32."""
    expect_int(seed, "seed")
    batch, length = expect_positive_int(batch, "batch"), expect_positive_int(length, "length")
    world_size = _check_split(config, world_size, batch)
    ranks = run_on_ranks(_both_worker, world_size, (seed, batch, length, config), timeout)
    return {
        "tensor parallel": max(max(r["tensor parallel"].values()) for r in ranks),
        "ddp gradient": max(r["data parallel"]["gradient"] for r in ranks),
        "ddp parameters": max(r["data parallel"]["parameters after a step"] for r in ranks),
    }


def tensor_parallel_max_abs_diff(
    seed: int = 0,
    world_size: int = 2,
    batch: int = 2,
    length: int = 5,
    config: TransformerConfig = SMALL,
    timeout: float = 120.0,
) -> float:
    """Largest difference between :class:`TensorParallelAttention` on ``world_size`` ranks and
    the single-process :class:`MultiHeadAttention` on the same input, without and with a causal
    mask (~1e-7 in float32)."""
    expect_int(seed, "seed")
    batch, length = expect_positive_int(batch, "batch"), expect_positive_int(length, "length")
    world_size = _check_split(config, world_size)
    args = (seed, batch, length, config)
    ranks = run_on_ranks(_tensor_parallel_worker, world_size, args, timeout)
    return max(max(diffs.values()) for diffs in ranks)


def ddp_gradient_max_abs_diff(
    seed: int = 0,
    world_size: int = 2,
    batch: int = 4,
    length: int = 6,
    config: TransformerConfig = SMALL,
    timeout: float = 120.0,
) -> float:
    """Largest difference between DDP's averaged gradients (each of ``world_size`` ranks on
    ``batch / world_size`` examples) and the gradients of one process on the full batch."""
    expect_int(seed, "seed")
    batch, length = expect_positive_int(batch, "batch"), expect_positive_int(length, "length")
    world_size = _check_split(config, world_size, batch)
    ranks = run_on_ranks(_ddp_worker, world_size, (seed, batch, length, config), timeout)
    return max(diffs["gradient"] for diffs in ranks)
