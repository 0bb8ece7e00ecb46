"""Two small synthetic sequence-classification tasks for lesson 03, generated from a seed.

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

from dataclasses import dataclass

import torch

# order task ids
A_ID, B_ID, ORDER_FILLER0 = 1, 2, 3


def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return value


def order_task(
    n_pairs: int, length: int = 16, vocab: int = 12, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``2 * n_pairs`` sequences (each followed by its A/B-swapped twin): ``tokens``
    (2 n_pairs, length) with ids ``A=1``, ``B=2``, fillers ``3..vocab-1``; ``labels``
    (2 n_pairs,) = 1 where A comes before B."""
    _positive(n_pairs, "n_pairs")
    if _positive(length, "length") < 2:
        raise ValueError(f"length: expected at least 2 positions for A and B, got {length}")
    if _positive(vocab, "vocab") <= ORDER_FILLER0:
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
        if _positive(self.length, "length") < 2:
            raise ValueError(
                f"length: expected at least 2 (the mark and a query), got {self.length}"
            )
        if _positive(self.n_symbols, "n_symbols") < 2:
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
    _positive(n, "n")
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
