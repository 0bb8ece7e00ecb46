"""Run a program in a separate, capped process and collect what it recorded.

Caps: wall time (the whole process group is killed), address space (``--memory``),
size of each file it writes (its captured output included). The process runs in its own
session in an empty temporary directory with a minimal environment; when it ends, for
whatever reason, its process group is killed so nothing it started lives on.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Largest amount of recorded data read back from one run.
MAX_RECORD_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Limits:
    timeout: float = 60.0  # seconds of wall time
    memory_mb: int = 4096  # address space
    output_mb: int = 4  # stdout + stderr and any file written


@dataclass
class RunOutcome:
    status: str  # "graded", "timeout", "memory", "output", "crashed"
    records: dict[tuple[str, str], dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # test/answer cell id -> error
    output: str = ""
    seconds: float = 0.0
    detail: str = ""


def _limit(pid: int, limits: Limits) -> None:
    """Cap a started process (it waits on stdin for its program, so no learner code ran yet)."""
    memory, output = limits.memory_mb * 2**20, limits.output_mb * 2**20
    resource.prlimit(pid, resource.RLIMIT_AS, (memory, memory))
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (output, output))
    resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))


def _read_events(stream, sink: list[dict], size: list[int]) -> None:
    for line in stream:
        size[0] += len(line)
        if size[0] > MAX_RECORD_BYTES:
            continue  # keep draining so the learner's process never blocks on the pipe
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            sink.append(event)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_program(program: list[dict], limits: Limits) -> RunOutcome:
    """Execute ``program`` (cells from ``build_program``) under ``limits``."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="course-grade-") as work:
        work_dir = Path(work)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work,
            "TMPDIR": work,
            "IPYTHONDIR": str(work_dir / ".ipython"),
            "MPLCONFIGDIR": str(work_dir / ".mpl"),
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONWARNINGS": "ignore",
        }
        read_fd, write_fd = os.pipe()
        with open(work_dir / ".output", "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "course_lib.grading.runner", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=work,
                env=env,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        os.close(write_fd)
        _limit(proc.pid, limits)
        events: list[dict] = []
        size = [0]
        reader = threading.Thread(
            target=_read_events,
            args=(os.fdopen(read_fd, "r", errors="replace"), events, size),
            daemon=True,
        )
        reader.start()
        timed_out = False
        try:
            proc.stdin.write(json.dumps({"cells": program}).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            proc.wait(timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_group(proc.pid)  # the runner and anything it spawned in its session
        proc.wait()
        reader.join(timeout=5)
        output_path = work_dir / ".output"
        output_size = output_path.stat().st_size if output_path.exists() else 0
        with open(output_path, "rb") as out:
            output = out.read(64 * 1024).decode("utf-8", "replace")
    return _outcome(
        events, proc.returncode, timed_out, output, output_size, limits, time.monotonic() - start
    )


def _outcome(events, returncode, timed_out, output, output_size, limits, seconds) -> RunOutcome:
    records: dict[tuple[str, str], dict] = {}
    errors: dict[str, str] = {}
    ended = False
    for event in events:
        kind = event.get("event")
        if kind == "record" and isinstance(event.get("cell"), str):
            records.setdefault((event["cell"], str(event.get("name"))), event)
        elif kind == "error":
            key = str(event.get("cell"))
            errors.setdefault(key, str(event.get("error", ""))[:500])
        elif kind == "end":
            ended = True
    memory = any(e.startswith("MemoryError") for e in errors.values())
    if timed_out:
        status, detail = "timeout", f"stopped after the {limits.timeout:g} s time limit"
    elif memory:
        status, detail = "memory", f"ran out of the {limits.memory_mb} MB memory limit"
    elif output_size >= limits.output_mb * 2**20:
        status, detail = "output", f"wrote more than the {limits.output_mb} MB output limit"
    elif not ended:
        how = f"exited with code {returncode}"
        if returncode < 0:
            try:
                how = f"was killed by signal {signal.Signals(-returncode).name}"
            except ValueError:
                how = f"was killed by signal {-returncode}"
        status, detail = "crashed", f"the notebook's process {how} before the last cell"
    else:
        status, detail = "graded", ""
    return RunOutcome(status, records, errors, output, seconds, detail)
