"""Small seeded toy data sets, generated in milliseconds (never cached): lesson 01's
kernel-regression problem and lesson 03's sequence-classification tasks.

Small seeded toy data sets the lessons share.

``kernel_regression_data``: the 1-D regression problem of lesson 01 (Nadaraya-Watson kernel
regression as attention). Noisy training samples of ``target_function`` on ``[0, x_max]`` and
noise-free test points on an even grid. Generated from a seed in milliseconds, never cached.

Two small synthetic sequence-classification tasks for lesson 03, generated from a seed.

- :func:`order_task` — *does A come before B?* Every sequence holds one ``A`` and one ``B``
  among random filler tokens, and comes with its twin where ``A`` and ``B`` swap places. The
  twins hold the same tokens (the same bag of words) with opposite labels, so a model that
  ignores positions gives both the same answer and scores exactly 50%.
- :func:`recall_task` — *which symbol was marked?* One symbol of a random sequence is marked;
  at every later position the model must name it, ``distance`` positions back. A CNN's output
  at a position sees only its receptive field, an RNN must carry the symbol along in its
  state, self-attention looks it up in one step, however far back.

``order_task`` returns ``tokens`` (N, length) int64 and ``labels`` (N,) in {0, 1} (balanced);
``recall_task`` returns ``tokens``, per-position ``labels`` and ``distances`` (N, length).
Generation is vectorised: milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_int, expect_positive_int


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
    n_train = expect_positive_int(n_train, "n_train")
    n_test = expect_positive_int(n_test, "n_test")
    noise = _finite_number(noise, "noise", 0.0, strict=False)
    x_max = _finite_number(x_max, "x_max", 0.0, strict=True)
    expect_int(seed, "seed")
    gen = torch.Generator().manual_seed(seed)
    x_train = (torch.rand(n_train, generator=gen) * x_max).sort().values  # (n_train,)
    y_train = target_function(x_train) + noise * torch.randn(n_train, generator=gen)  # (n_train,)
    x_test = torch.linspace(0.0, x_max, n_test)  # (n_test,)
    return KernelRegressionData(x_train, y_train, x_test, target_function(x_test))


# order task ids
A_ID, B_ID, ORDER_FILLER0 = 1, 2, 3


def order_task(
    n_pairs: int, length: int = 16, vocab: int = 12, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``2 * n_pairs`` sequences (each followed by its A/B-swapped twin): ``tokens``
    (2 n_pairs, length) with ids ``A=1``, ``B=2``, fillers ``3..vocab-1``; ``labels``
    (2 n_pairs,) = 1 where A comes before B."""
    expect_positive_int(n_pairs, "n_pairs")
    if expect_positive_int(length, "length") < 2:
        raise ValueError(f"length: expected at least 2 positions for A and B, got {length}")
    if expect_positive_int(vocab, "vocab") <= ORDER_FILLER0:
        raise ValueError(f"vocab: expected > {ORDER_FILLER0} (ids 1, 2 are A, B), got {vocab}")
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(ORDER_FILLER0, vocab, (n_pairs, length), generator=g)  # (n, L)
    slots = torch.rand(n_pairs, length, generator=g).argsort(dim=1)[:, :2]  # (n, 2) distinct
    rows = torch.arange(n_pairs)  # (n,)
    first, twin = tokens.clone(), tokens.clone()  # (n, L) each
    first[rows, slots[:, 0]], first[rows, slots[:, 1]] = A_ID, B_ID
    twin[rows, slots[:, 0]], twin[rows, slots[:, 1]] = B_ID, A_ID
    label = (slots[:, 0] < slots[:, 1]).long()  # (n,) A before B in `first`
    tokens = torch.stack([first, twin], dim=1).flatten(0, 1)  # (2n, L): pairs side by side
    labels = torch.stack([label, 1 - label], dim=1).flatten()  # (2n,)
    return tokens, labels


@dataclass(frozen=True)
class RecallConfig:
    """Sequences of ``length`` random symbols out of ``n_symbols``; one of them, at a uniform
    position, is *marked* (written with a second set of ids), and is the one to recall."""

    length: int = 64
    n_symbols: int = 8

    def __post_init__(self) -> None:
        if expect_positive_int(self.length, "length") < 2:
            raise ValueError(
                f"length: expected at least 2 (the mark and a query), got {self.length}"
            )
        if expect_positive_int(self.n_symbols, "n_symbols") < 2:
            raise ValueError(f"n_symbols: expected at least 2, got {self.n_symbols}")

    @property
    def vocab(self) -> int:
        """Ids ``0..n-1`` are the symbols, ``n..2n-1`` the same symbols marked."""
        return 2 * self.n_symbols


IGNORE = -100  # label of positions with nothing to recall (F.cross_entropy's ignore_index)


def recall_task(
    n: int, config: RecallConfig | None = None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` sequences of the recall task: ``tokens`` (n, length), one of them marked (id
    ``symbol + n_symbols``); ``labels`` (n, length): at every position after the marked one,
    the marked symbol (``0..n_symbols-1``), else ``IGNORE``; ``distances`` (n, length): how
    many positions back the marked symbol is (``-1`` where ignored)."""
    expect_positive_int(n, "n")
    c = config or RecallConfig()
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, c.n_symbols, (n, c.length), generator=g)  # (n, L) symbols
    marked = torch.randint(0, c.length - 1, (n,), generator=g)  # (n,) marked positions
    rows = torch.arange(n)  # (n,)
    symbol = tokens[rows, marked]  # (n,) the symbol to recall
    tokens[rows, marked] = symbol + c.n_symbols  # its marked id
    distances = torch.arange(c.length)[None, :] - marked[:, None]  # (n, L)
    after = distances > 0  # (n, L) positions that must recall it
    labels = torch.where(after, symbol[:, None], torch.full_like(tokens, IGNORE))  # (n, L)
    return tokens, labels, torch.where(after, distances, torch.full_like(distances, -1))
