"""ROUGE: how much of a reference summary a candidate summary recovers (lesson 02).

ROUGE (Lin, 2004) counts overlapping units between a candidate and a reference:

- **ROUGE-N** counts n-grams (n words in a row). Counts are *clipped*: an n-gram that occurs
  twice in the candidate but once in the reference matches once. With ``overlap`` the clipped
  count, ``recall = overlap / (n-grams of the reference)``,
  ``precision = overlap / (n-grams of the candidate)`` and ``f = 2 P R / (P + R)`` (F1).
- **ROUGE-L** uses the longest common subsequence (words in the same order, not necessarily
  next to each other): ``recall = LCS / len(reference)``, ``precision = LCS / len(candidate)``.

A summary is one token sequence (join its sentences first); :func:`rouge_words` lowercases
the tokens and drops punctuation, as the usual ROUGE scripts do. Empty inputs: a candidate with
no n-grams (shorter than ``n``, e.g. empty) scores 0; a reference with none raises a
``ValueError``, because there is nothing to recover and the score would mean nothing.
This is the course's own implementation, kept short; it does no stemming and no stop-word removal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from course_lib.core.shapes import expect_positive_int


@dataclass(frozen=True)
class Score:
    """Precision, recall and F1 of one candidate against one reference (each in [0, 1])."""

    precision: float
    recall: float
    f: float


def _tokens(tokens: object, name: str) -> list[str]:
    if isinstance(tokens, str):
        raise TypeError(f"{name}: expected a sequence of tokens, got one string (split it first)")
    if not isinstance(tokens, Sequence):
        raise TypeError(f"{name}: expected a sequence of tokens, got {type(tokens).__name__}")
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(f"{name}: expected string tokens, got {type(token).__name__}")
    return list(tokens)


def rouge_words(tokens: Sequence[str]) -> list[str]:
    """Lowercase ``tokens`` and drop those that are punctuation only (``.``, ``,`` ...)."""
    return [t.lower() for t in _tokens(tokens, "tokens") if any(ch.isalnum() for ch in t)]


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """How often each n-gram (a tuple of ``n`` tokens in a row) occurs in ``tokens``."""
    expect_positive_int(n, "n")
    words = _tokens(tokens, "tokens")
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _score(overlap: int, n_candidate: int, n_reference: int) -> Score:
    precision = overlap / n_candidate if n_candidate else 0.0
    recall = overlap / n_reference
    f = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return Score(precision, recall, f)


def rouge_n(candidate: Sequence[str], reference: Sequence[str], n: int = 1) -> Score:
    """ROUGE-N of ``candidate`` against ``reference`` (token sequences), clipped counts."""
    expect_positive_int(n, "n")
    cand, ref = (
        ngrams(_tokens(candidate, "candidate"), n),
        ngrams(_tokens(reference, "reference"), n),
    )
    n_ref = sum(ref.values())
    if n_ref == 0:
        raise ValueError(
            f"reference: has no {n}-grams ({len(reference)} tokens); "
            f"ROUGE-{n} needs a reference of at least {n} token{'s' * (n > 1)}"
        )
    overlap = sum((cand & ref).values())  # Counter & Counter: min of the two counts (clipping)
    return _score(overlap, sum(cand.values()), n_ref)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (dynamic programming)."""
    previous = [0] * (len(b) + 1)  # row i-1 of the (len(a)+1, len(b)+1) table
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(candidate: Sequence[str], reference: Sequence[str]) -> Score:
    """ROUGE-L (F1 of the longest common subsequence) of ``candidate`` against ``reference``."""
    cand, ref = _tokens(candidate, "candidate"), _tokens(reference, "reference")
    if not ref:
        raise ValueError("reference: is empty; ROUGE-L needs a reference of at least 1 token")
    return _score(lcs_length(cand, ref), len(cand), len(ref))
