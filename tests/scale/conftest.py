"""What the process-starting tests of lesson 07 share: no process may be left behind."""

from __future__ import annotations

import time

import psutil
import pytest


def descendants() -> set[int]:
    """Every process below this one but the two that multiprocessing keeps for the next launch:
    the fork server (the workers are its children) and the resource tracker."""
    me = psutil.Process()
    found = set()
    for process in me.children(recursive=True):
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue  # exited; its parent reaps it
            command = " ".join(process.cmdline())
            if process.ppid() == me.pid and "from multiprocessing.forkserver" in command:
                continue
            if process.ppid() == me.pid and "from multiprocessing.resource_tracker" in command:
                continue
        except psutil.NoSuchProcess:
            continue
        found.add(process.pid)
    return found


@pytest.fixture
def no_process_left():
    """Fails the test if it leaves a process it started running."""
    before = descendants()
    yield
    deadline = time.monotonic() + 5.0  # a stopped process may take a moment to be reaped
    while (left := descendants() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes left behind: {[_describe(pid) for pid in left]}"


def _describe(pid: int) -> str:
    try:
        process = psutil.Process(pid)
        command = " ".join(process.cmdline())[:120]
        return f"{pid} ({process.status()}, parent {process.ppid()}: {command})"
    except psutil.NoSuchProcess:
        return f"{pid} (gone)"
