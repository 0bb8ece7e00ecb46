"""Per-slot control groups: cap the memory and process count of a run's whole process tree.

``RLIMIT_AS`` caps each process; a submission that forks could still use many times that.
When the grader runs as root and the ``memory`` and ``pids`` controllers are writable (cgroup
v1 hierarchies under ``/sys/fs/cgroup/<controller>`` or a v2 unified hierarchy), each job
slot gets its own group; the run joins it before dropping privileges, so everything it starts
is counted together, and the kernel OOM-kills the run when the tree exceeds the limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
GROUP = "course-grade"


def _write(path: Path, value: str) -> None:
    path.write_text(value)


@dataclass(frozen=True)
class SlotGroups:
    """The cgroup folders of one job slot."""

    memory: Path
    pids: Path | None
    version: int

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in (self.memory, self.pids) if d is not None]

    def oom_kills(self) -> int:
        """How many processes of this slot the kernel OOM-killed so far."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in (self.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0


def prepare(slot: int, memory_mb: int, nproc: int) -> SlotGroups | None:
    """Create (or reuse) and size the groups of ``slot``; ``None`` where cgroups are unusable."""
    if os.geteuid() != 0:
        return None
    try:
        if (ROOT / "memory" / "memory.limit_in_bytes").exists():  # cgroup v1
            memory = ROOT / "memory" / GROUP / f"slot-{slot}"
            memory.mkdir(parents=True, exist_ok=True)
            _write(memory / "memory.limit_in_bytes", str(memory_mb * 2**20))
            if (memory / "memory.memsw.limit_in_bytes").exists():
                _write(memory / "memory.memsw.limit_in_bytes", str(memory_mb * 2**20))
            pids = ROOT / "pids" / GROUP / f"slot-{slot}"
            if (ROOT / "pids").is_dir():
                pids.mkdir(parents=True, exist_ok=True)
                _write(pids / "pids.max", str(nproc))
            return SlotGroups(memory, pids if pids.is_dir() else None, 1)
        if (ROOT / "cgroup.controllers").exists():  # cgroup v2
            parent = ROOT / GROUP
            parent.mkdir(exist_ok=True)
            _write(ROOT / "cgroup.subtree_control", "+memory +pids")
            _write(parent / "cgroup.subtree_control", "+memory +pids")
            group = parent / f"slot-{slot}"
            group.mkdir(exist_ok=True)
            _write(group / "memory.max", str(memory_mb * 2**20))
            _write(group / "memory.swap.max", "0")
            _write(group / "pids.max", str(nproc))
            return SlotGroups(group, None, 2)
    except OSError:
        return None
    return None


def join(procs_files: list[str]) -> None:
    """Move the calling process into each group (before it drops privileges)."""
    for path in procs_files:
        with open(path, "w") as handle:
            handle.write("0")
