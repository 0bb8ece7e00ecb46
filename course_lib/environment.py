"""Lesson 00's set-up check: is this the course's environment, and is it healthy?"""

from __future__ import annotations

import importlib
import platform
import time
from dataclasses import dataclass
from pathlib import Path

COURSE_DIR = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "numpy", "matplotlib", "seaborn", "ipywidgets", "tqdm", "nbval")


@dataclass(frozen=True)
class Item:
    """One line of the set-up report."""

    name: str
    value: str
    ok: bool
    fix: str = ""


def setup_report() -> list[Item]:
    """Check Python, the pinned packages, the CPU build of torch and the course folders."""
    items = [
        Item(
            "Python",
            platform.python_version(),
            platform.python_version().startswith("3.11"),
            "use Python 3.11 (`make install` creates .venv with it)",
        )
    ]
    for package in PACKAGES:
        try:
            version = importlib.import_module(package).__version__
            items.append(Item(package, version, True))
        except ImportError:
            items.append(Item(package, "missing", False, "run `make install`"))
    import torch

    items.append(
        Item(
            "torch 2.13.0",
            torch.__version__,
            torch.__version__.startswith("2.13.0"),
            "the course pins torch==2.13.0 in constraints.txt",
        )
    )
    items.append(
        Item(
            "CPU threads used by torch", str(torch.get_num_threads()), torch.get_num_threads() >= 1
        )
    )
    for folder in ("notebooks", "exercises", "solutions"):
        present = (COURSE_DIR / folder).is_dir()
        items.append(
            Item(
                f"{folder}/ folder",
                "present" if present else "missing",
                present,
                "open the course from its repository (`make lab`)",
            )
        )
    return items


def matmul_gflops(n: int = 512, repeats: int = 20) -> float:
    """Measured speed of an (n, n) float32 matrix product on this CPU, in GFLOP/s."""
    if not isinstance(n, int) or n < 1 or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"n and repeats: expected positive ints, got n={n!r}, repeats={repeats!r}")
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    seconds = (time.perf_counter() - start) / repeats
    return 2 * n**3 / seconds / 1e9
