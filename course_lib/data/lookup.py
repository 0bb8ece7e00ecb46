"""A memorisation task for lesson 07's mixture of experts: the label of a *bigram*.

A fixed random table, drawn from ``table_seed``, gives every ordered pair of symbols
``(previous, current)`` a label out of ``n_classes``. Sequences are ``length`` uniform random
symbols; at every position ``t >= 1`` the label is ``table[tokens[t-1], tokens[t]]`` (position 0
has no previous symbol and is labelled ``IGNORE``). A model must attend to the previous position
(a transformer's job) and then *remember* the table: ``n_symbols ** 2`` arbitrary entries of
``log2(n_classes)`` bits each, with no rule to find. Nothing generalises, so more parameters
help, as long as they can be trained: the case for a mixture of experts, which adds parameters
without adding compute per token.

``zipf > 0`` draws symbols with probability proportional to ``(rank + 1) ** -zipf``, as words
in text are (``zipf = 1``: Zipf's law), instead of uniformly: frequent symbols then load some
experts more than others.

Size (defaults): 48 symbols, 2,304 table entries, 16 classes, i.e. 9,216 bits to remember;
sequences of 8 symbols, 7 labels each. Sequences are drawn afresh from ``seed`` (train, validation
and test use different seeds, the table is the same), in milliseconds, never cached.

``lookup_table`` returns ``table`` (n_symbols, n_symbols) int64, ``table[previous, current]``;
``lookup_task`` returns ``tokens`` (n, length) int64 in ``[0, n_symbols)`` and ``labels``
(n, length) int64 in ``[0, n_classes)`` or ``IGNORE``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_int, expect_positive_int
from course_lib.data.toys import IGNORE

__all__ = ["IGNORE", "LookupConfig", "lookup_table", "lookup_task"]


@dataclass(frozen=True)
class LookupConfig:
    """A table of ``n_symbols ** 2`` bigram labels out of ``n_classes``, drawn from
    ``table_seed``; sequences of ``length`` symbols, drawn uniformly (``zipf = 0``) or with
    Zipf-like frequencies (:meth:`symbol_probs`)."""

    n_symbols: int = 48
    n_classes: int = 16
    length: int = 8
    table_seed: int = 0
    zipf: float = 0.0

    def __post_init__(self) -> None:
        if expect_positive_int(self.n_symbols, "n_symbols") < 2:
            raise ValueError(f"n_symbols: expected at least 2, got {self.n_symbols}")
        if expect_positive_int(self.n_classes, "n_classes") < 2:
            raise ValueError(f"n_classes: expected at least 2, got {self.n_classes}")
        if expect_positive_int(self.length, "length") < 2:
            raise ValueError(
                f"length: expected at least 2 (a previous symbol and a current one), "
                f"got {self.length}"
            )
        expect_int(self.table_seed, "table_seed")
        ok = isinstance(self.zipf, (int, float)) and not isinstance(self.zipf, bool)
        if not (ok and 0 <= self.zipf < float("inf")):
            raise ValueError(f"zipf: expected a finite number >= 0, got {self.zipf!r}")

    def symbol_probs(self) -> torch.Tensor:
        """(n_symbols,) how often each symbol is drawn: proportional to ``(rank + 1) ** -zipf``
        (symbol 0 the most frequent; ``zipf = 0``: uniform)."""
        weights = torch.arange(1, self.n_symbols + 1, dtype=torch.float64) ** -float(self.zipf)
        return weights / weights.sum()  # (V,)

    @property
    def table_size(self) -> int:
        """Number of entries of the table to remember: ``n_symbols ** 2``."""
        return self.n_symbols**2


def lookup_table(config: LookupConfig | None = None) -> torch.Tensor:
    """The task's table (n_symbols, n_symbols) int64: ``table[previous, current]`` is the label
    of that bigram, uniform in ``[0, n_classes)``; the same ``table_seed`` gives the same table."""
    c = config or LookupConfig()
    g = torch.Generator().manual_seed(c.table_seed)
    return torch.randint(0, c.n_classes, (c.n_symbols, c.n_symbols), generator=g)  # (V, V)


def lookup_task(
    n: int, config: LookupConfig | None = None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences: ``tokens`` (n, length) uniform symbols drawn from ``seed``; ``labels``
    (n, length): ``table[tokens[:, t-1], tokens[:, t]]`` for ``t >= 1``, ``IGNORE`` at ``t = 0``."""
    expect_positive_int(n, "n")
    expect_int(seed, "seed")
    c = config or LookupConfig()
    table = lookup_table(c)  # (V, V)
    g = torch.Generator().manual_seed(seed)
    if c.zipf == 0:
        tokens = torch.randint(0, c.n_symbols, (n, c.length), generator=g)  # (n, L)
    else:
        flat = torch.multinomial(c.symbol_probs(), n * c.length, replacement=True, generator=g)
        tokens = flat.reshape(n, c.length)  # (n, L)
    labels = torch.full_like(tokens, IGNORE)  # (n, L)
    labels[:, 1:] = table[tokens[:, :-1], tokens[:, 1:]]  # (n, L-1) bigram labels
    return tokens, labels
