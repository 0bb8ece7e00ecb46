"""Remake checkpoints: ``python -m course_lib.checkpoints LESSON [NAME...] [--threads N]``.

Trains each named checkpoint of lesson ``LESSON`` (all of them by default) from scratch with its
lesson module's ``train`` and overwrites its file in ``weights/``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import torch

from course_lib.checkpoints import store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.checkpoints", description="Retrain a lesson's checkpoints."
    )
    parser.add_argument("lesson", choices=store.LESSONS, help="the lesson, e.g. 04")
    parser.add_argument("names", nargs="*", help="which checkpoints (default: all)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: small models run fastest)"
    )
    args = parser.parse_args(argv)
    module = importlib.import_module(f"course_lib.checkpoints.lesson{args.lesson}")
    unknown = [name for name in args.names if name not in module.NAMES]
    if unknown:
        parser.error(
            f"names: unknown {unknown}; lesson {args.lesson} has {', '.join(module.NAMES)}"
        )
    if args.threads < 1:
        parser.error(f"--threads: expected a positive int, got {args.threads}")
    torch.set_num_threads(args.threads)
    for name in args.names or module.NAMES:
        model, info = module.train(name)
        path = store.path(args.lesson, name)
        store.write(path, model, info)
        size = f"{info['parameters']:,} parameters, " if "parameters" in info else ""
        print(f"{name}: {size}{info['seconds']:.0f} s -> {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
