"""A warm process that forks one sandboxed runner per submission.

Importing torch costs more than grading a typical exercise, so the grader starts this
process once (``python -m course_lib.grading.zygote SOCKET MODE``): it imports the heavy
modules, then waits on a ``SOCK_SEQPACKET`` socket. Each request carries a small JSON
config and three file descriptors (the program's pipe, the record pipe, the output file);
the reply is the pid of a new child ``M``:

- ``M`` starts a session, enters new namespaces (``namespace`` mode) and forks ``G``;
- ``G`` (PID 1 of the new PID namespace) closes every inherited descriptor but its three,
  enters the jail (``jail.enter``: hidden folders, private ``/tmp``, limits, unprivileged
  uid) and runs the runner, which reads the program from its own pipe;
- ``M`` waits for ``G`` and writes ``{"event": "exit", "status": ...}`` on the record pipe.

No submission's content ever passes through this process (it only forwards descriptors),
so no learner can find another learner's code in the memory it inherits.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import sys

_PR_SET_PDEATHSIG = 1


def warm() -> None:
    """Import what every run needs, without starting any thread pool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import torch.nn.functional  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401

    import course_lib.check  # noqa: F401
    import course_lib.core.attention  # noqa: F401
    import course_lib.core.masks  # noqa: F401

    from . import jail, runner  # noqa: F401


def _child(config: dict, fds: list[int], control: socket.socket) -> None:
    """Process ``M``: fork the runner ``G``, wait for it, report its exit status."""
    from . import jail, runner

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    control.close()
    program_r, record_w, output_w = fds
    os.setsid()
    if config["mode"] == "namespace":
        jail.unshare_namespaces()
    pid = os.fork()
    if pid == 0:  # G
        try:
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            os.dup2(program_r, 0)
            os.dup2(output_w, 1)
            os.dup2(output_w, 2)
            os.dup2(record_w, 3)
            os.closerange(4, 65536)
            if config["mode"] == "namespace":
                jail.mount_proc()
                env = jail.enter(config)
            else:
                os.chdir(config["work"])
                jail.limit(config)
                env = dict(
                    config["env"],
                    HOME=config["work"],
                    TMPDIR=config["work"],
                    IPYTHONDIR=f"{config['work']}/.ipython",
                    MPLCONFIGDIR=f"{config['work']}/.mpl",
                )
            os.environ.clear()
            os.environ.update(env)
            runner.main(3)
        finally:
            os._exit(70)
    os.close(program_r)
    os.close(output_w)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    with os.fdopen(record_w, "w") as channel:
        channel.write(json.dumps({"event": "exit", "status": code}) + "\n")
    os._exit(0)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with grader
    warm()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    control.sendall(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 3)
        except OSError:
            break
        if not message:
            break  # the grader closed its end
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            control.sendall(b"0")
            continue
        pid = os.fork()
        if pid == 0:
            try:
                _child(json.loads(message), fds, control)
            finally:
                os._exit(71)
        for fd in fds:
            os.close(fd)
        control.sendall(str(pid).encode())


if __name__ == "__main__":
    main()
