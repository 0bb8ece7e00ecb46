"""What the process-starting tests of lesson 07 share: no process may be left behind."""

from __future__ import annotations

import psutil
import pytest


def descendants() -> set[int]:
    """Every process below this one but the two that multiprocessing keeps for the next launch:
    the fork server (the workers are its children) and the resource tracker."""
    me = psutil.Process()
    found = set()
    for process in me.children(recursive=True):
        try:
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
    left = descendants() - before
    assert not left, f"processes left behind: {left}"
