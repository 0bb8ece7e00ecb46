"""Run a program in a separate, capped process and collect what it recorded.

Two isolation modes, chosen once per grader (``isolation()``):

- ``namespace`` (the grader runs as root and ``unshare`` works): the learner's code runs in
  fresh mount, network and PID namespaces as an unprivileged uid of its own (one per
  parallel job), with ``solutions/``, ``tests/``, ``.git`` and the submission folders hidden,
  a private size-capped ``/tmp``, no network, and every process it starts killed with it.
  See ``jail.py``.
- ``process`` (otherwise): a separate process in its own session and an empty temporary
  folder, as the grader's user; its process group is killed at the end. It could read what
  the grader's user can read.

Both cap wall time, address space, file size (its output included) and output kept.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups

#: Largest amount of recorded data read back from one run.
MAX_RECORD_BYTES = 64 * 2**20
#: First uid of the unprivileged users the namespace sandbox runs as (one per job slot).
BASE_UID = 61000
_JAIL = str(Path(__file__).with_name("jail.py"))
_ENV = {
    "MPLBACKEND": "Agg",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONWARNINGS": "ignore",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class Limits:
    timeout: float = 60.0  # seconds of wall time
    memory_mb: int = 4096  # address space
    output_mb: int = 4  # stdout + stderr and any file written
    nproc: int = 256  # processes and threads of the sandbox's uid (namespace mode)
    tmp_mb: int = 256  # size of the private /tmp (namespace mode)


@dataclass
class RunOutcome:
    status: str  # "graded", "timeout", "memory", "output", "crashed"
    records: dict[tuple[str, str], dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # test/answer cell id -> error
    output: str = ""
    seconds: float = 0.0
    detail: str = ""


def _base_env() -> dict[str, str]:
    return dict(_ENV, PATH=os.environ.get("PATH", "/usr/bin:/bin"))


def _runner_argv(fd: int) -> list[str]:
    return [sys.executable, "-m", "course_lib.grading.runner", str(fd)]


def _jail_command(config: dict) -> list[str]:
    unshare = shutil.which("unshare") or "unshare"
    return [
        unshare,
        "--mount",
        "--net",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--propagation",
        "private",
        sys.executable,
        "-I",
        "-S",
        _JAIL,
        json.dumps(config),
    ]


def _jail_config(
    argv: list[str], limits: Limits, uid: int, hide: list[str], groups: list[str] = ()
) -> dict:
    course_dir = str(Path(__file__).resolve().parents[2])
    keep = sorted(
        {
            course_dir,
            sys.prefix,
            sys.base_prefix,
            os.path.realpath(sys.executable).rsplit("/bin/", 1)[0],
        }
    )
    return {
        "uid": uid,
        "hide": hide,
        "keep": keep,
        "argv": argv,
        "env": _base_env(),
        "memory_mb": limits.memory_mb,
        "output_mb": limits.output_mb,
        "nproc": limits.nproc,
        "tmp_mb": limits.tmp_mb,
        "cgroups": list(groups),
    }


@functools.cache
def isolation(probe_dir: str) -> str:
    """``"namespace"`` if the namespace sandbox works here (checked once), else ``"process"``.

    The probe hides ``probe_dir`` and checks, from inside, that it looks empty, that the
    uid is unprivileged and that there is no network interface up.
    """
    if os.environ.get("COURSE_GRADE_SANDBOX") == "0" or os.geteuid() != 0:
        return "process"
    if not shutil.which("unshare") or not os.path.isdir(probe_dir):
        return "process"
    check = (
        f"import os, sys; ok = os.listdir({probe_dir!r}) == [] and os.getuid() == {BASE_UID}"
        " and not open('/proc/net/route').read().count('\\n') > 1; sys.exit(0 if ok else 3)"
    )
    config = _jail_config(
        [sys.executable, "-I", "-S", "-c", check], Limits(), BASE_UID, [probe_dir]
    )
    try:
        done = subprocess.run(_jail_command(config), capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "process"
    return "namespace" if done.returncode == 0 else "process"


def _limit(pid: int, limits: Limits) -> None:
    """Cap a started process (it waits on stdin for its program, so no learner code ran yet)."""
    memory, output = limits.memory_mb * 2**20, limits.output_mb * 2**20
    resource.prlimit(pid, resource.RLIMIT_AS, (memory, memory))
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (output, output))
    resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))


def _read_events(stream, sink: list[dict], size: list[int], done: threading.Event) -> None:
    for line in stream:
        if line.startswith('{"event": "exit"'):
            done.set()  # the zygote's child reported the runner's exit status
        size[0] += len(line)
        if size[0] > MAX_RECORD_BYTES:
            continue  # keep draining so the learner's process never blocks on the pipe
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            sink.append(event)
    done.set()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Zygote:
    """Client of a warm ``zygote`` process that forks one runner per request."""

    def __init__(self, mode: str) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "course_lib.grading.zygote", str(theirs.fileno()), mode],
            pass_fds=(theirs.fileno(),),
            env=_base_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        theirs.close()
        self.mode, self.socket, self.lock = mode, ours, threading.Lock()
        ours.settimeout(120)
        if ours.recv(16) != b"ready":
            raise OSError("the grader's zygote did not start")
        ours.settimeout(30)

    def spawn(self, config: dict, fds: list[int]) -> int:
        """Start one run; returns the pid of its session leader."""
        with self.lock:
            socket.send_fds(self.socket, [json.dumps(config).encode()], fds)
            pid = int(self.socket.recv(32) or b"0")
        if pid <= 0:
            raise OSError("the grader's zygote refused a run")
        return pid

    def close(self) -> None:
        self.socket.close()
        self.proc.kill()
        self.proc.wait()


def _run_forked(
    program: dict, limits: Limits, zygote: Zygote, slot: int, hide: list[str]
) -> RunOutcome:
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="course-grade-") as work:
        output_path = Path(work) / ".output"
        program_r, program_w = os.pipe()
        record_r, record_w = os.pipe()
        groups = (
            cgroups.prepare(slot, limits.memory_mb, limits.nproc)
            if zygote.mode == "namespace"
            else None
        )
        oom_before = groups.oom_kills() if groups else 0
        config = dict(
            _jail_config([], limits, BASE_UID + slot, hide, groups.procs_files() if groups else []),
            mode=zygote.mode,
            work=work,
        )
        with open(output_path, "wb") as out:
            try:
                pid = zygote.spawn(config, [program_r, record_w, out.fileno()])
            finally:
                os.close(program_r)
                os.close(record_w)
        events: list[dict] = []
        done = threading.Event()
        reader = threading.Thread(
            target=_read_events,
            args=(os.fdopen(record_r, "r", errors="replace"), events, [0], done),
            daemon=True,
        )
        reader.start()
        writer = threading.Thread(target=_write_program, args=(program_w, program), daemon=True)
        writer.start()
        timed_out = _wait(done.is_set, limits.timeout, groups, oom_before, done.wait)
        _kill_group(pid)  # the session leader, the runner and everything in their group
        reader.join(timeout=5)
        exits = [e.get("status") for e in events if e.get("event") == "exit"]
        returncode = exits[-1] if exits and isinstance(exits[-1], int) else -signal.SIGKILL
        return _outcome(
            events, returncode, timed_out, output_path, limits, start, groups, oom_before
        )


def _write_program(fd: int, program: dict) -> None:
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(json.dumps(program).encode())
    except OSError:  # the run died before reading its program
        pass


def run_program(
    program: dict,
    limits: Limits,
    mode: str = "process",
    slot: int = 0,
    hide: list[str] | None = None,
    zygote: Zygote | None = None,
) -> RunOutcome:
    """Execute ``program`` (from ``build_program``) under ``limits``.

    ``mode`` is ``isolation(...)``'s answer; ``slot`` picks the sandbox uid (one per
    parallel job); ``hide`` lists folders and files the learner's code must not see;
    ``zygote`` (of the same mode) forks the run from a warm process instead of starting
    a new interpreter.
    """
    if zygote is not None:
        return _run_forked(program, limits, zygote, slot, hide or [])
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="course-grade-") as work:
        read_fd, write_fd = os.pipe()
        groups = (
            cgroups.prepare(slot, limits.memory_mb, limits.nproc) if mode == "namespace" else None
        )
        oom_before = groups.oom_kills() if groups else 0
        if mode == "namespace":
            procs = groups.procs_files() if groups else []
            config = _jail_config(
                _runner_argv(write_fd), limits, BASE_UID + slot, hide or [], procs
            )
            command, cwd, env = _jail_command(config), "/", _base_env()
        else:
            command, cwd = _runner_argv(write_fd), work
            env = dict(
                _base_env(),
                HOME=work,
                TMPDIR=work,
                IPYTHONDIR=f"{work}/.ipython",
                MPLCONFIGDIR=f"{work}/.mpl",
            )
        output_path = Path(work) / ".output"
        with open(output_path, "wb") as out:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        os.close(write_fd)
        if mode != "namespace":
            _limit(proc.pid, limits)
        events: list[dict] = []
        reader = threading.Thread(
            target=_read_events,
            args=(os.fdopen(read_fd, "r", errors="replace"), events, [0], threading.Event()),
            daemon=True,
        )
        reader.start()
        try:
            proc.stdin.write(json.dumps(program).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        timed_out = _wait(lambda: proc.poll() is not None, limits.timeout, groups, oom_before)
        _kill_group(proc.pid)  # the runner and anything it spawned in its session
        proc.wait()
        reader.join(timeout=5)
        return _outcome(
            events, proc.returncode, timed_out, output_path, limits, start, groups, oom_before
        )


def _wait(finished, timeout: float, groups, oom_before: int, pause=time.sleep) -> bool:
    """Wait until ``finished()``, the time limit (returns True) or an OOM kill in the run's
    cgroup (returns False: the run is over, its status will say ``memory``)."""
    deadline = time.monotonic() + timeout
    while not finished():
        if time.monotonic() >= deadline:
            return True
        if groups is not None and groups.oom_kills() > oom_before:
            return False
        pause(0.05)
    return False


_MEMORY_ERRORS = ("MemoryError", "can't allocate memory", "std::bad_alloc")


def _outcome(
    events, returncode, timed_out, output_path: Path, limits, start, groups, oom_before
) -> RunOutcome:
    """The verdict of a finished run from its events, exit status, output and cgroup."""
    output_size = output_path.stat().st_size
    with open(output_path, "rb") as out:
        output = out.read(64 * 1024).decode("utf-8", "replace")
    oom_killed = groups is not None and groups.oom_kills() > oom_before
    seconds = time.monotonic() - start
    records: dict[tuple[str, str], dict] = {}
    errors: dict[str, str] = {}
    ended = False
    for event in events:
        kind = event.get("event")
        if kind == "record" and isinstance(event.get("cell"), str):
            records.setdefault((event["cell"], str(event.get("name"))), event)
        elif kind == "error":
            errors.setdefault(str(event.get("cell")), str(event.get("error", ""))[:500])
        elif kind == "end":
            ended = True
    memory = oom_killed or any(m in e for e in errors.values() for m in _MEMORY_ERRORS)
    if memory:  # also when the tree was OOM-killed and the rest then ran into the time limit
        status, detail = "memory", f"ran out of the {limits.memory_mb} MB memory limit"
    elif timed_out:
        status, detail = "timeout", f"stopped after the {limits.timeout:g} s time limit"
    elif output_size >= limits.output_mb * 2**20:
        status, detail = "output", f"wrote more than the {limits.output_mb} MB output limit"
    elif not ended:
        how = f"exited with code {returncode}"
        if returncode < 0:
            try:
                how = f"was killed by signal {signal.Signals(-returncode).name}"
            except ValueError:
                how = f"was killed by signal {-returncode}"
        elif returncode > 128:  # unshare reports a child killed by signal N as 128 + N
            try:
                how = f"was killed by signal {signal.Signals(returncode - 128).name}"
            except ValueError:
                pass
        status, detail = "crashed", f"the notebook's process {how} before the last cell"
    else:
        status, detail = "graded", ""
    return RunOutcome(status, records, errors, output, seconds, detail)
