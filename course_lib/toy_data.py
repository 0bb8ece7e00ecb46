"""Small seeded toy data sets the lessons share.

``kernel_regression_data``: the 1-D regression problem of lesson 01 (Nadaraya-Watson kernel
regression as attention). Noisy training samples of ``target_function`` on ``[0, x_max]`` and
noise-free test points on an even grid. Generated from a seed in milliseconds, never cached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def target_function(x: torch.Tensor) -> torch.Tensor:
    """The true curve ``f(x) = 2 sin(x) + x^0.8`` (defined for ``x >= 0``); same shape as ``x``."""
    return 2 * torch.sin(x) + x.pow(0.8)


@dataclass(frozen=True)
class KernelRegressionData:
    """Training pairs (keys, values) and test points (queries) of the 1-D toy problem.

    ``x_train``: (n_train,) sorted inputs; ``y_train``: (n_train,) noisy targets;
    ``x_test``: (n_test,) evenly spaced inputs; ``y_test``: (n_test,) noise-free targets.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return value


def _finite_number(value: object, name: str, minimum: float, strict: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"{name}: expected a finite number {bound}, got {value!r}")
    return value


def kernel_regression_data(
    n_train: int = 50,
    n_test: int = 50,
    noise: float = 0.5,
    x_max: float = 5.0,
    seed: int = 0,
) -> KernelRegressionData:
    """Sample the 1-D kernel-regression toy problem; the same ``seed`` gives the same tensors.

    Training inputs are uniform on ``[0, x_max]`` (sorted), targets are
    ``target_function(x) + noise * N(0, 1)``; test inputs are ``n_test`` evenly spaced points
    on ``[0, x_max]`` with noise-free targets. All tensors are float32, 1-D.
    """
    n_train = _positive_int(n_train, "n_train")
    n_test = _positive_int(n_test, "n_test")
    noise = _finite_number(noise, "noise", 0.0, strict=False)
    x_max = _finite_number(x_max, "x_max", 0.0, strict=True)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    gen = torch.Generator().manual_seed(seed)
    x_train = (torch.rand(n_train, generator=gen) * x_max).sort().values  # (n_train,)
    y_train = target_function(x_train) + noise * torch.randn(n_train, generator=gen)  # (n_train,)
    x_test = torch.linspace(0.0, x_max, n_test)  # (n_test,)
    return KernelRegressionData(x_train, y_train, x_test, target_function(x_test))
