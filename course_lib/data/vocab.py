"""Vocabularies (token <-> id) and padding, shared by the lesson-02 data sets.

A :class:`Vocab` always starts with its special tokens, so ``<pad>`` is id 0 everywhere; that
is what :func:`pad_ids` fills with and what the padding masks of the models look for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(len(SPECIALS))  # every Vocab starts with SPECIALS


class Vocab:
    """A fixed token list: ``PAD=0, UNK=1, BOS=2, EOS=3`` then the tokens in first-seen order.

    ``encode`` maps unknown tokens to ``<unk>``; ``decode`` stops at ``<eos>`` and drops padding.
    """

    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    def __init__(self, tokens: Iterable[str]) -> None:
        self.itos: list[str] = list(SPECIALS)
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"tokens: expected strings, got {type(token).__name__}")
            if token not in self.itos:
                self.itos.append(token)
        self.stoi: dict[str, int] = {token: i for i, token in enumerate(self.itos)}

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence[str]]) -> Vocab:
        """Every token of ``sequences``, sorted (so the ids do not depend on the data's order)."""
        return cls(sorted({token for seq in sequences for token in seq}))

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.itos[4:10]}...)"

    def encode(self, tokens: Sequence[str], bos: bool = False, eos: bool = False) -> list[int]:
        """Token list -> id list (unknown -> ``<unk>``), optionally framed by <bos> / <eos>."""
        if isinstance(tokens, str):
            raise TypeError("tokens: expected a list of tokens, got one string (split it first)")
        ids = [self.stoi.get(token, self.unk_id) for token in tokens]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Id list or 1-D tensor -> tokens up to the first ``<eos>``, without <pad> and <bos>."""
        out = []
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        for i in values:
            if i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                out.append(self.itos[i])
        return out


def pad_ids(
    seqs: Sequence[Sequence[int]], pad_id: int = PAD_ID
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id lists into one tensor: ``ids`` (batch, max_len) long and ``lengths`` (batch,)."""
    if len(seqs) == 0:
        raise ValueError("seqs: expected at least one sequence, got an empty batch")
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)  # (batch,)
    ids = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)  # (batch, max_len)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return ids, lengths
