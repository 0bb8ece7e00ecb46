"""Lesson-02 sentiment task whose deciding tokens are known: one opinion phrase in neutral filler.

Provenance: generated from a seed, in milliseconds, never cached. Each review is a random
sequence of neutral filler words (``the``, ``plot``, ``cinema``, ...) with one opinion phrase
put at a random place: a sentiment word (``great``, ``dull``, ...) optionally preceded by a
negation (``not``, ``never``), which flips its polarity. So the label is decided by at most two
known tokens, the **rationale**, and we can check whether a model's attention finds them.

Default sizes: 2,000 training, 500 validation and 1,000 test reviews of 8 to 40 tokens, half
of them negated, labels balanced (1 = positive, 0 = negative).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_int, expect_positive_int
from course_lib.data.vocab import Vocab, pad_ids

POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "charming", "moving", "fun")
NEGATIVE = ("bad", "awful", "boring", "dull", "terrible", "weak", "tedious", "poor")
NEGATIONS = ("not", "never")
FILLER = tuple(
    "the a film movie plot story actor actress director scene scenes camera music score "
    "script cast we i my friend saw watched it was is in at on with of and then after "
    "before cinema evening night sunday ticket popcorn seat screen hall city long short "
    "first second ending beginning character dialogue sound light colour was were this that".split()
)


@dataclass(frozen=True)
class Review:
    """One example: ``tokens``, ``label`` (1 positive, 0 negative) and the positions of the
    tokens that decide it (``rationale``: the sentiment word and its negation, if any)."""

    tokens: tuple[str, ...]
    label: int
    rationale: tuple[int, ...]


@dataclass(frozen=True)
class SentimentConfig:
    """Sizes and lengths (``min_len``..``max_len`` tokens, opinion phrase included)."""

    n_train: int = 2_000
    n_val: int = 500
    n_test: int = 1_000
    min_len: int = 8
    max_len: int = 40
    negation_prob: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "n_test"):
            expect_positive_int(getattr(self, name), name, minimum=0)
        expect_positive_int(self.min_len, "min_len", minimum=2, note="room for 'not good'")
        expect_positive_int(self.max_len, "max_len", minimum=self.min_len, minimum_name="min_len")
        if not 0.0 <= self.negation_prob <= 1.0:
            raise ValueError(
                f"negation_prob: expected a number in [0, 1], got {self.negation_prob!r}"
            )
        expect_int(self.seed, "seed")


def make_review(rng: random.Random, length: int, negation_prob: float = 0.5) -> Review:
    """One random review of ``length`` tokens (balanced label, negated with ``negation_prob``)."""
    label = rng.randrange(2)
    negated = rng.random() < negation_prob
    polarity = label if not negated else 1 - label  # the word's own polarity
    word = rng.choice(POSITIVE if polarity == 1 else NEGATIVE)
    phrase = [rng.choice(NEGATIONS), word] if negated else [word]
    filler = [rng.choice(FILLER) for _ in range(length - len(phrase))]
    at = rng.randrange(len(filler) + 1)
    tokens = filler[:at] + phrase + filler[at:]
    return Review(tuple(tokens), label, tuple(range(at, at + len(phrase))))


@dataclass
class SentimentData:
    """Splits of :class:`Review` and the vocabulary (every word the generator can use)."""

    train: list[Review]
    val: list[Review]
    test: list[Review]
    vocab: Vocab
    config: SentimentConfig


def make_sentiment_data(config: SentimentConfig | None = None) -> SentimentData:
    """Generate the splits from ``config.seed``; the same config gives the same reviews."""
    config = config or SentimentConfig()
    rng = random.Random(config.seed)

    def draw(n: int) -> list[Review]:
        return [
            make_review(rng, rng.randint(config.min_len, config.max_len), config.negation_prob)
            for _ in range(n)
        ]

    vocab = Vocab(sorted(set(FILLER) | set(POSITIVE) | set(NEGATIVE) | set(NEGATIONS)))
    return SentimentData(
        draw(config.n_train), draw(config.n_val), draw(config.n_test), vocab, config
    )


@dataclass
class SentimentBatch:
    """``ids`` (batch, L), ``lengths`` (batch,), ``labels`` (batch,), ``rationale`` (batch, L)
    bool: True on the deciding tokens."""

    ids: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor
    rationale: torch.Tensor


def sentiment_batch(reviews: Sequence[Review], vocab: Vocab) -> SentimentBatch:
    """Encode and pad ``reviews`` into one :class:`SentimentBatch`."""
    ids, lengths = pad_ids([vocab.encode(r.tokens) for r in reviews])  # (b, L), (b,)
    rationale = torch.zeros(ids.shape, dtype=torch.bool)  # (b, L)
    for row, review in enumerate(reviews):
        rationale[row, list(review.rationale)] = True
    labels = torch.tensor([r.label for r in reviews], dtype=torch.long)  # (b,)
    return SentimentBatch(ids, lengths, labels, rationale)


def iterate_sentiment_batches(
    reviews: Sequence[Review],
    vocab: Vocab,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
) -> Iterator[SentimentBatch]:
    """Batches of ``reviews``, in a new order from ``seed`` if ``shuffle``."""
    expect_positive_int(batch_size, "batch_size")
    order = list(range(len(reviews)))
    if shuffle:
        random.Random(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        yield sentiment_batch([reviews[i] for i in order[start : start + batch_size]], vocab)
