"""Extractive summarisation with attention (lesson 02): the summary is where the weight goes.

An **extractive** summariser copies whole sentences of the document; an abstractive one writes
new text. :class:`SentenceExtractor` is the smallest attention model that extracts: it encodes
each sentence as the mean of its word embeddings (then a linear layer and ``tanh``), a
**summary query** scores every sentence with the general (Luong) score ``q^T W h``, and a masked
softmax over the sentences gives one weight per sentence. The ``k`` sentences with the largest
weights, in document order, are the summary. It is trained with :func:`extraction_loss` to put
its weight evenly on the sentences the reference summary was written from.

The model sees no position: whether a sentence is picked depends only on its words. Two
baselines frame it: :func:`lead_k` (the first ``k`` sentences, hard to beat on news, where the
important facts come first) and :func:`oracle_k` (the ``k`` sentences with the best ROUGE
against the reference, found by trying every choice: the best any extractive summary of ``k``
sentences could do).

Shapes: ``ids`` (batch, S, L) for S sentences of L tokens, ``sentence_lengths`` (batch, S),
``n_sentences`` (batch,), sentence ``states`` (batch, S, hidden), ``weights`` (batch, S).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import torch
from torch import nn

from course_lib.core.attention import GeneralScore
from course_lib.core.masks import masked_softmax, padding_mask
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape
from course_lib.data.summaries import Report
from course_lib.data.vocab import PAD_ID
from course_lib.language.rouge import rouge_l, rouge_n, rouge_words

QUERIES = ("learned", "document")


@dataclass(frozen=True)
class ExtractorConfig:
    """Sizes of a :class:`SentenceExtractor` and its summary ``query``: ``"learned"`` (one
    vector for every document) or ``"document"`` (that vector plus a linear map of the mean of
    the document's sentence states, so what the query asks for can depend on the document)."""

    vocab: int
    emb: int = 32
    hidden: int = 32
    query: str = "document"

    def __post_init__(self) -> None:
        if self.query not in QUERIES:
            raise ValueError(f"query: expected one of {QUERIES}, got {self.query!r}")
        for name in ("vocab", "emb", "hidden"):
            expect_positive_int(getattr(self, name), name)


class SentenceExtractor(nn.Module):
    """Sentences -> one attention weight each, from a learned summary query."""

    def __init__(self, config: ExtractorConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab, config.emb, padding_idx=PAD_ID)
        self.project = nn.Linear(config.emb, config.hidden)
        self.query = nn.Parameter(torch.randn(config.hidden) / config.hidden**0.5)  # (hidden,)
        self.from_document = (
            nn.Linear(config.hidden, config.hidden, bias=False)
            if config.query == "document"
            else None
        )
        self.score = GeneralScore(config.hidden, config.hidden)

    def encode(self, ids: torch.Tensor, sentence_lengths: torch.Tensor) -> torch.Tensor:
        """``ids`` (batch, S, L) -> sentence states (batch, S, hidden): mean of the word
        embeddings of each sentence, then ``tanh(linear)``."""
        sizes = expect_shape(ids, "batch, S, L", name="ids")
        lens = expect_shape(sentence_lengths, "batch, S", name="sentence_lengths")
        expect_match(
            "ids and sentence_lengths batch sizes",
            {"ids": sizes["batch"], "sentence_lengths": lens["batch"]},
        )
        expect_match(
            "ids and sentence_lengths sentences",
            {"ids.S": sizes["S"], "sentence_lengths.S": lens["S"]},
        )
        total = self.embed(ids).sum(2)  # (batch, S, emb); padding embeds to 0
        mean = total / sentence_lengths.clamp(min=1)[..., None]  # (batch, S, emb)
        return torch.tanh(self.project(mean))  # (batch, S, hidden)

    def forward(
        self, ids: torch.Tensor, sentence_lengths: torch.Tensor, n_sentences: torch.Tensor
    ) -> torch.Tensor:
        """Attention weights over each document's sentences: (batch, S), padded ones 0."""
        states = self.encode(ids, sentence_lengths)  # (batch, S, hidden)
        mask = padding_mask(n_sentences, states.shape[1])  # (batch, 1, S)
        q = self.query.expand(states.shape[0], 1, -1)  # (batch, 1, hidden)
        if self.from_document is not None:
            document = (mask.float() @ states) / n_sentences.clamp(min=1)[:, None, None]
            q = q + self.from_document(document)  # (batch, 1, hidden); document: the mean state
        scores = self.score(q, states)  # (batch, 1, S)
        return masked_softmax(scores, mask)[:, 0]  # (batch, S)


def extraction_loss(weights: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between the weights and the uniform distribution over the labelled
    sentences: ``weights`` (batch, S), ``labels`` (batch, S) bool -> scalar. It is smallest
    when every reference sentence gets the same share and the others get none."""
    expect_shape(weights, "batch, S", name="weights")
    expect_shape(labels, "batch, S", name="labels")
    if weights.shape != labels.shape:
        raise ValueError(
            f"labels: shape {tuple(labels.shape)} must equal the weights' "
            f"shape {tuple(weights.shape)} (batch, S)"
        )
    if labels.dtype != torch.bool:
        raise TypeError(f"labels: expected dtype torch.bool, got {labels.dtype}")
    counts = labels.sum(-1)  # (batch,)
    if bool((counts == 0).any()):
        raise ValueError("labels: every document needs at least one labelled sentence")
    target = labels.float() / counts[:, None]  # (batch, S)
    return -(target * weights.clamp(min=1e-9).log()).sum(-1).mean()


def top_k(weights: torch.Tensor, n_sentences: torch.Tensor, k: int) -> list[list[int]]:
    """The ``k`` sentences with the largest weights of each document (all of them if it has
    fewer), in document order: ``weights`` (batch, S), ``n_sentences`` (batch,)."""
    expect_positive_int(k, "k")
    expect_shape(weights, "batch, S", name="weights")
    picks = []
    for row, n in zip(weights, n_sentences.tolist(), strict=True):
        best = row[:n].argsort(descending=True, stable=True)[:k]  # (min(k, n),)
        picks.append(sorted(best.tolist()))
    return picks


def lead_k(n_sentences: int, k: int) -> list[int]:
    """The lead baseline: the first ``k`` sentences (all of them if there are fewer)."""
    expect_positive_int(k, "k")
    expect_positive_int(n_sentences, "n_sentences")
    return list(range(min(k, n_sentences)))


def extract(report: Report, picks: Sequence[int]) -> list[str]:
    """The summary made of sentences ``picks`` of ``report``, in document order, as tokens."""
    n = len(report.sentences)
    bad = [i for i in picks if not 0 <= i < n]
    if bad:
        raise ValueError(f"picks: sentence indices {bad} outside the report's 0..{n - 1}")
    return [w for i in sorted(picks) for w in report.sentences[i]]


def summary_rouge(report: Report, picks: Sequence[int]) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F1 of the sentences ``picks`` against the report's
    reference summary (lowercased, punctuation dropped)."""
    candidate, reference = rouge_words(extract(report, picks)), rouge_words(report.reference)
    return {
        "rouge1": rouge_n(candidate, reference, 1).f,
        "rouge2": rouge_n(candidate, reference, 2).f,
        "rougeL": rouge_l(candidate, reference).f,
    }


def mean_rouge(reports: Sequence[Report], picks: Sequence[Sequence[int]]) -> dict[str, float]:
    """:func:`summary_rouge` averaged over ``reports`` (one list of picks per report)."""
    if len(reports) != len(picks) or not reports:
        raise ValueError(
            "reports, picks: expected the same non-zero number of each, "
            f"got {len(reports)} and {len(picks)}"
        )
    scores = [summary_rouge(r, p) for r, p in zip(reports, picks, strict=True)]
    return {name: sum(s[name] for s in scores) / len(scores) for name in scores[0]}


def oracle_k(report: Report, k: int) -> list[int]:
    """The ``k`` sentences (fewer if the report is shorter) whose summary has the highest
    ROUGE-1 F1 + ROUGE-2 F1 against the reference, by trying every choice; ties go to the
    earliest choice."""
    expect_positive_int(k, "k")
    reference = rouge_words(report.reference)
    words = [rouge_words(s) for s in report.sentences]
    best, best_score = [], -1.0
    for choice in combinations(range(len(words)), min(k, len(words))):
        candidate = [w for i in choice for w in words[i]]
        score = rouge_n(candidate, reference, 1).f + rouge_n(candidate, reference, 2).f
        if score > best_score:
            best, best_score = list(choice), score
    return best
