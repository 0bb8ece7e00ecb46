"""Lesson-02 translation task: lists of numbers written out in words -> the same numbers in digits.

Provenance: the source sentences are written by ``num2words`` (English, German, French), the
targets are the digits of the same numbers, so every pair is correct by construction and the
whole data set is generated offline from a seed in seconds (never cached). An example is a
list of one to four numbers read out, e.g. a price list or a series of codes::

    zwei hundert fünf und dreißig , sieben  ->  2 3 5 , 7

Why it is a good small translation task:

- the output's length grows with the input's: a list of four 6-digit numbers takes ~45 words
  and 27 output tokens, so a fixed-size encoding has more and more to remember;
- the alignment is monotone in English but **crosses** in German, which says the units before
  the tens (``fünf und dreißig`` -> ``3 5``), and French counts in twenties
  (``quatre vingt dix sept`` -> ``9 7``);
- zeros are never spoken (``three hundred and five`` -> ``3 0 5``): the model must know place
  values, not just copy words.

German compounds are split into number words (``fünfunddreißig`` -> ``fünf und dreißig``) so
that the tokens are words a learner can read on an alignment plot.

Sizes (defaults): 24,000 training, 1,500 validation and 3,000 test pairs, the languages in
turn, each (language, list) at most once across all splits; plus a ``long`` slice of 600 lists
of four 6-digit numbers without zero digits, longer than most training inputs.

The task's metrics, shared by lesson 02's GRU models and lesson 03's transformer:
:func:`sequence_loss`, :func:`translate` (greedy output of any model with ``greedy``),
:func:`exact_match` and :func:`accuracy_by_length`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from num2words import num2words
from torch import nn

from course_lib.core.shapes import expect_int, expect_match, expect_positive_int, expect_shape
from course_lib.data.vocab import PAD_ID, Vocab, pad_ids

LANGUAGES = ("en", "de", "fr")

# German number words; compounds are split into these by greedy longest match.
_GERMAN_WORDS = (
    "null eins ein eine zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn "
    "vierzehn fünfzehn sechzehn siebzehn achtzehn neunzehn zwanzig dreißig vierzig fünfzig "
    "sechzig siebzig achtzig neunzig hundert tausend und million millionen milliarde milliarden"
).split()


def _segment(word: str, pieces: Sequence[str]) -> list[str]:
    """Split ``word`` into ``pieces`` by greedy longest match; ValueError if something is left."""
    by_length = sorted(pieces, key=len, reverse=True)
    out, rest = [], word
    while rest:
        piece = next((p for p in by_length if rest.startswith(p)), None)
        if piece is None:
            raise ValueError(f"word: cannot split {word!r} into number words (stuck at {rest!r})")
        out.append(piece)
        rest = rest[len(piece) :]
    return out


def number_to_words(number: int, lang: str) -> list[str]:
    """``number`` written out by ``num2words`` in ``lang``, as a list of lower-case word tokens.

    Hyphens and commas are dropped; German compounds are split into number words.
    """
    expect_positive_int(number, "number", minimum=0)
    if lang not in LANGUAGES:
        raise ValueError(f"lang: expected one of {LANGUAGES}, got {lang!r}")
    text = num2words(number, lang=lang).lower()
    words = [w for w in re.split(r"[\s\-,]+", text) if w]
    if lang == "de":
        words = [piece for w in words for piece in _segment(w, _GERMAN_WORDS)]
    return words


def number_to_digits(number: int) -> list[str]:
    """``305`` -> ``["3", "0", "5"]``."""
    return list(str(number))


SEP = ","  # separates the numbers of a list, in the source and in the target


@dataclass(frozen=True)
class Pair:
    """One example: ``src`` words of ``numbers`` in ``lang`` -> ``tgt`` digits (``,`` between
    numbers)."""

    numbers: tuple[int, ...]
    lang: str
    src: tuple[str, ...]
    tgt: tuple[str, ...]


def make_pair(numbers: Sequence[int], lang: str) -> Pair:
    """The pair for a list of numbers in one language."""
    if isinstance(numbers, int) or len(numbers) == 0:
        raise ValueError(f"numbers: expected a non-empty list of ints, got {numbers!r}")
    src: list[str] = []
    tgt: list[str] = []
    for i, number in enumerate(numbers):
        sep = [SEP] if i else []
        src += sep + number_to_words(number, lang)
        tgt += sep + number_to_digits(number)
    return Pair(tuple(numbers), lang, tuple(src), tuple(tgt))


@dataclass(frozen=True)
class TranslationConfig:
    """How to sample the data: 1..``max_items`` numbers per list (uniform), digit counts uniform
    in 1..``max_digits``; each digit after the first is 0 with probability ``zero_prob``."""

    languages: tuple[str, ...] = LANGUAGES
    max_items: int = 4
    max_digits: int = 6
    zero_prob: float = 0.3
    n_train: int = 24_000
    n_val: int = 1_500
    n_test: int = 3_000
    n_long: int = 600
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.languages or any(lang not in LANGUAGES for lang in self.languages):
            raise ValueError(
                f"languages: expected a non-empty subset of {LANGUAGES}, got {self.languages!r}"
            )
        expect_positive_int(self.max_items, "max_items", maximum=10)
        expect_positive_int(self.max_digits, "max_digits", maximum=9)
        if not 0.0 <= self.zero_prob < 1.0:
            raise ValueError(f"zero_prob: expected a number in [0, 1), got {self.zero_prob!r}")
        for name in ("n_train", "n_val", "n_test", "n_long"):
            expect_positive_int(getattr(self, name), name, minimum=0)
        expect_int(self.seed, "seed")


def sample_number(rng: random.Random, digits: int, zero_prob: float) -> int:
    """A random number with exactly ``digits`` digits (``digits == 1`` may give 0)."""
    first = rng.randrange(0 if digits == 1 else 1, 10)
    rest = [0 if rng.random() < zero_prob else rng.randrange(1, 10) for _ in range(digits - 1)]
    return int("".join(map(str, [first, *rest])))


def vocabulary(languages: Sequence[str] = LANGUAGES) -> Vocab:
    """Every word ``num2words`` uses for numbers below 10^12 in ``languages``, and ``,``.

    Built from a fixed list of numbers that covers every unit, ten, hundred and scale word (and
    the French plurals ``cents``, ``vingts``), so it does not depend on any sampled split.
    """
    covering = [*range(0, 102), *range(100, 1000, 100), 1100, 1001, 21_000, 80_000]
    covering += [k * 10**e for e in (3, 6, 9) for k in (1, 2, 80, 200)]
    words = [number_to_words(n, lang) for lang in languages for n in covering]
    return Vocab.from_sequences([*words, [SEP]])


class TranslationData:
    """The splits (lists of :class:`Pair`) and the two vocabularies.

    ``val``, ``test`` and ``long`` are drawn when the data is made (about a second);
    ``train`` is drawn the first time it is used (a few seconds: ``num2words`` is slow), so a
    notebook that loads trained models never pays for it. Every (language, number) pair is in
    at most one split.
    """

    def __init__(self, config: TranslationConfig) -> None:
        self.config = config
        self.src_vocab = vocabulary(config.languages)
        self.tgt_vocab = Vocab([*(str(d) for d in range(10)), SEP])
        self._seen: set[tuple[str, tuple[int, ...]]] = set()
        self.long = self._draw("long", config.n_long, longest=True)
        self.test = self._draw("test", config.n_test)
        self.val = self._draw("val", config.n_val)
        self._train: list[Pair] | None = None

    def _draw(self, split: str, n: int, longest: bool = False) -> list[Pair]:
        """``n`` new pairs, languages in turn; each split has its own seeded generator.
        ``longest``: always ``max_items`` numbers of ``max_digits`` digits, no zero digits."""
        rng = random.Random(f"{self.config.seed}-{split}")
        config, pairs, attempts = self.config, [], 0
        while len(pairs) < n:
            attempts += 1
            if attempts > 100 * n + 1000:
                raise ValueError(
                    f"n_{split}: could not draw {n} distinct pairs with "
                    f"max_items={config.max_items}, max_digits={config.max_digits}"
                )
            lang = config.languages[len(pairs) % len(config.languages)]
            items = config.max_items if longest else rng.randint(1, config.max_items)
            numbers = tuple(
                sample_number(rng, config.max_digits, 0.0)
                if longest
                else sample_number(rng, rng.randint(1, config.max_digits), config.zero_prob)
                for _ in range(items)
            )
            if (lang, numbers) not in self._seen:
                self._seen.add((lang, numbers))
                pairs.append(make_pair(numbers, lang))
        return pairs

    @property
    def train(self) -> list[Pair]:
        if self._train is None:
            self._train = self._draw("train", self.config.n_train)
        return self._train

    def splits(self) -> dict[str, list[Pair]]:
        """All four splits by name (draws ``train`` if needed)."""
        return {"train": self.train, "val": self.val, "test": self.test, "long": self.long}

    def __repr__(self) -> str:
        n_train = self.config.n_train if self._train is None else len(self._train)
        return (
            f"TranslationData(train={n_train}, val={len(self.val)}, test={len(self.test)}, "
            f"long={len(self.long)}, languages={self.config.languages}, "
            f"src_vocab={len(self.src_vocab)}, tgt_vocab={len(self.tgt_vocab)})"
        )


def make_translation_data(config: TranslationConfig | None = None) -> TranslationData:
    """The lesson-02 data from ``config`` (default :class:`TranslationConfig`); deterministic."""
    return TranslationData(config or TranslationConfig())


@dataclass
class Batch:
    """Padded tensors for a batch of pairs (``<pad>`` = 0).

    ``src`` (batch, src_len), ``src_lengths`` (batch,); ``tgt_in`` (batch, tgt_len) starts with
    ``<bos>`` (teacher forcing input), ``tgt_out`` (batch, tgt_len) ends with ``<eos>`` (labels).
    """

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    pairs: list[Pair]


def make_batch(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab) -> Batch:
    """Encode and pad ``pairs`` into one :class:`Batch`."""
    src, src_lengths = pad_ids([src_vocab.encode(p.src) for p in pairs])  # (b, S), (b,)
    tgt_in, _ = pad_ids([tgt_vocab.encode(p.tgt, bos=True) for p in pairs])  # (b, T)
    tgt_out, _ = pad_ids([tgt_vocab.encode(p.tgt, eos=True) for p in pairs])  # (b, T)
    return Batch(src, src_lengths, tgt_in, tgt_out, list(pairs))


def iterate_batches(
    pairs: Sequence[Pair],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
) -> Iterator[Batch]:
    """Batches of ``pairs``; with ``shuffle`` a new order from ``seed`` (sorted by length within
    chunks of 20 batches, so batches hold sentences of similar length and little padding)."""
    expect_positive_int(batch_size, "batch_size")
    order = list(range(len(pairs)))
    if shuffle:
        random.Random(seed).shuffle(order)
        chunk = 20 * batch_size
        order = [
            i
            for s in range(0, len(order), chunk)
            for i in sorted(order[s : s + chunk], key=lambda i: len(pairs[i].src))
        ]
    starts = list(range(0, len(order), batch_size))
    if shuffle:
        random.Random(seed + 1).shuffle(starts)
    for start in starts:
        yield make_batch(
            [pairs[i] for i in order[start : start + batch_size]], src_vocab, tgt_vocab
        )


# -------------------------------------------------------- task metrics (lessons 02 and 03)


def sequence_loss(logits: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over real target tokens: logits (b, T, V), tgt_out (b, T)."""
    return F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD_ID)


def training_batches(data: TranslationData, batch_size: int, seed: int = 0):
    """``batches(epoch)`` for the course's training loops: ``data.train`` shuffled into
    length-sorted batches, a new order each epoch (epochs 0, 1, ... use seeds ``seed + 1``,
    ``seed + 2``, ...), each batch as a 1-tuple ``(Batch,)``."""

    def batches(epoch: int) -> Iterator[tuple[Batch]]:
        return (
            (b,)
            for b in iterate_batches(
                data.train,
                data.src_vocab,
                data.tgt_vocab,
                batch_size,
                shuffle=True,
                seed=seed + epoch + 1,
            )
        )

    return batches


def teacher_forcing_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    """The loss of a translation model fed the target's prefix (teacher forcing): ``model(src,
    src_lengths, tgt_in)`` returns logits (b, T, V) (and attention weights)."""
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)  # (b, T, V)
    return sequence_loss(logits, batch.tgt_out)


def translate(
    model: nn.Module, pairs: Sequence[Pair], data: TranslationData, batch_size: int = 1024
) -> tuple[list[list[str]], list[torch.Tensor | None]]:
    """Greedy translations of ``pairs``: predicted digit lists and, per pair, the attention
    weights (predicted_len, src_len) over its real source words (``None`` without attention).

    ``model`` needs a method ``greedy(src, src_lengths, max_len)`` returning ids
    (batch, steps) and weights (batch, steps, S') or ``None``, as lesson 02's GRU
    :class:`~course_lib.language.seq2seq.Seq2Seq` and lesson 03's
    :class:`~course_lib.language.seq2seq_transformer.TranslationTransformer` have."""
    model.eval()
    predictions: list[list[str]] = []
    alignments: list[torch.Tensor | None] = []
    for batch in iterate_batches(pairs, data.src_vocab, data.tgt_vocab, batch_size):
        ids, weights = model.greedy(
            batch.src, batch.src_lengths, max_len=batch.tgt_out.shape[1] + 2
        )
        for row, pair in enumerate(batch.pairs):
            predicted = data.tgt_vocab.decode(ids[row])
            predictions.append(predicted)
            alignments.append(
                None if weights is None else weights[row, : len(predicted) + 1, : len(pair.src)]
            )
    return predictions, alignments


def exact_match(predictions: Sequence[Sequence[str]], pairs: Sequence[Pair]) -> float:
    """Fraction of ``pairs`` whose predicted digits equal the target digits exactly."""
    if len(predictions) != len(pairs):
        raise ValueError(f"predictions: {len(predictions)} predictions for {len(pairs)} pairs")
    if not pairs:
        raise ValueError("pairs: expected at least one pair")
    return sum(list(p) == list(q.tgt) for p, q in zip(predictions, pairs, strict=True)) / len(pairs)


def model_exact_match(model: nn.Module, pairs: Sequence[Pair], data: TranslationData) -> float:
    """Exact match of ``model``'s greedy translations of ``pairs`` (:func:`translate`)."""
    return exact_match(translate(model, pairs, data)[0], pairs)


def accuracy_by_length(
    lengths: torch.Tensor, correct: torch.Tensor, edges: Sequence[int]
) -> torch.Tensor:
    """Fraction correct per length bin ``[edges[b], edges[b+1])``: ``lengths`` (N,) int,
    ``correct`` (N,) bool -> (len(edges) - 1,) float32, ``nan`` for an empty bin."""
    expect_shape(lengths, "N", name="lengths")
    expect_shape(correct, "N", name="correct")
    expect_match("lengths and correct sizes", {"lengths": len(lengths), "correct": len(correct)})
    if list(edges) != sorted(set(edges)) or len(edges) < 2:
        raise ValueError(f"edges: expected at least two increasing ints, got {list(edges)!r}")
    low, high = torch.tensor(edges[:-1]), torch.tensor(edges[1:])  # (bins,)
    inside = (lengths[None] >= low[:, None]) & (lengths[None] < high[:, None])  # (bins, N)
    hits = (inside & correct[None]).sum(-1).float()  # (bins,)
    counts = inside.sum(-1).float()  # (bins,)
    return torch.where(counts > 0, hits / counts.clamp(min=1), torch.tensor(float("nan")))
