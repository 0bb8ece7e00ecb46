"""Enter the grading sandbox, then exec the runner: ``python -m course_lib.grading.jail CONFIG``.

Started by ``unshare --mount --net --pid --fork --kill-child --mount-proc`` as root, so this
process is PID 1 of fresh mount, network and PID namespaces. It replaces ``/tmp``, ``/var/tmp``,
``/dev/shm``, ``/root`` and ``/home`` by empty private tmpfs mounts (binding back only the
folders the runner needs: the interpreter, the virtualenv, the course), hides what the
learner's code must not read (``solutions/``, ``tests/``, ``.git``, the submissions) under
empty read-only mounts, sets resource limits,
drops to an unprivileged uid with ``no_new_privs`` and execs the runner. When this PID 1
exits, the kernel kills every process left in the namespace.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

_libc = ctypes.CDLL(None, use_errno=True)
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_BIND = 1, 2, 4, 4096
_PR_SET_NO_NEW_PRIVS = 38


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    result = _libc.mount(
        source.encode(), target.encode(), fstype.encode() if fstype else None, flags, data.encode()
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {fstype or 'bind'} on {target}: {os.strerror(errno)}")


def hide(path: str) -> None:
    """Make ``path`` look empty (a folder) or unreadable (a file) inside this namespace."""
    if os.path.isdir(path):
        _mount("none", path, "tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV, "size=4k,mode=555")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, _MS_BIND)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def mask(root: str, keep: list[str], size_mb: int, mode: str) -> None:
    """Replace ``root`` by an empty tmpfs, then bind the ``keep`` folders under it back."""
    if not os.path.isdir(root):
        return
    kept = [(path, os.open(path, os.O_PATH)) for path in keep if _under(path, root)]
    _mount("none", root, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size_mb}m,mode={mode}")
    for path, fd in kept:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND)
        os.close(fd)


_CLONE_NEWNS, _CLONE_NEWNET, _CLONE_NEWPID = 0x00020000, 0x40000000, 0x20000000
_MS_REC, _MS_PRIVATE, _MS_NOEXEC = 16384, 1 << 18, 8


def unshare_namespaces() -> None:
    """Enter new mount, network and PID namespaces (the next child forked is PID 1)."""
    if _libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    _mount("none", "/", None, _MS_REC | _MS_PRIVATE)


def mount_proc() -> None:
    """A /proc that shows only this PID namespace."""
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)


def limit(config: dict) -> None:
    """Resource limits of a run (``nproc`` only applies to an unprivileged uid)."""
    memory, output = config["memory_mb"] * 2**20, config["output_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if "nproc" in config:
        resource.setrlimit(resource.RLIMIT_NPROC, (config["nproc"], config["nproc"]))


def enter(config: dict) -> dict:
    """Mask and hide folders, cap resources, drop to ``config["uid"]``; return the run's env."""
    uid = int(config["uid"])
    keep = [os.path.realpath(p) for p in config["keep"]]
    for root, size, mode in (
        ("/tmp", config["tmp_mb"], "1777"),
        ("/var/tmp", 16, "1777"),
        ("/dev/shm", 16, "1777"),
        ("/root", 1, "755"),
        ("/home", 1, "755"),
    ):
        mask(root, keep, size, mode)
    for path in config["hide"]:
        hide(os.path.realpath(path))
    work = "/tmp/work"
    os.mkdir(work, 0o700)
    os.chown(work, uid, uid)
    limit(config)
    for path in config.get("cgroups", []):  # join the slot's groups while still root
        with open(path, "w") as handle:
            handle.write("0")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    os.chdir(work)
    return dict(
        config["env"],
        HOME=work,
        TMPDIR=work,
        IPYTHONDIR=f"{work}/.ipython",
        MPLCONFIGDIR=f"{work}/.mpl",
    )


def main() -> None:
    config = json.loads(sys.argv[1])
    env = enter(config)
    argv = config["argv"]
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    main()
