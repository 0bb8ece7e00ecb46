"""Lesson-02 long-input task: copy the key people and place out of a long generated report.

Provenance: generated from a seed, in milliseconds, never cached. A document is a sequence of
short template sentences about made-up people and cities (names built from syllables, e.g.
``Kalomi``, ``Rutesa``). Exactly one sentence is the key fact::

    <host> welcomed <guest> to <city> .

and the summary to produce is the three words ``(host, guest, city)``. Every other sentence
is a distractor that mentions the same people and cities in other roles (``Kalomi met Rutesa
in Vobelu .``, ``Rutesa flew to Vobelu on monday .``), so a name alone never says whether it
belongs in the summary: only its neighbours do.

The names of the test documents never occur in training, so a decoder with a fixed output
vocabulary cannot write them; a pointer copies them from the input. Document lengths are
chosen in tokens (default 100..250 for training); test documents can be far longer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_int, expect_positive_int
from course_lib.data.vocab import Vocab, pad_ids

SLOTS = ("host", "guest", "city")
KEY_TEMPLATE = "{p0} welcomed {p1} to {c0} ."
DISTRACTORS = (
    "{p0} met {p1} in {c0} .",
    "{p0} called {p1} about the budget .",
    "{p0} flew to {c0} on monday .",
    "the weather in {c0} was mild .",
    "a letter from {p0} reached {c0} .",
    "{p0} thanked {p1} for the report .",
    "{p0} and {p1} welcomed the new plan .",
    "the committee discussed the agenda .",
    "nothing else happened that day .",
    "{p0} moved from {c0} to {c1} .",
    "{p1} was welcomed in {c0} by the mayor .",
)
SYLLABLES = tuple(
    "ka lo mi ra te vo sa ri no be da fe gu ho ju ki le ma ne po ru si ta ul "
    "va we xi yo zu bi".split()
)


def template_words() -> list[str]:
    """Every word the templates use (the encoder's vocabulary; names are not in it)."""
    words = {w for t in (KEY_TEMPLATE, *DISTRACTORS) for w in t.split() if not w.startswith("{")}
    return sorted(words)


def make_names(
    rng: random.Random, n: int, exclude: set[str] | frozenset = frozenset()
) -> list[str]:
    """``n`` distinct capitalised names of 2-3 syllables, none of them in ``exclude``."""
    names: list[str] = []
    seen = set(exclude)
    while len(names) < n:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


@dataclass(frozen=True)
class Document:
    """A generated report: ``tokens``, the ``summary`` words (host, guest, city) and the
    position of each of them in the key sentence (``key_positions``)."""

    tokens: tuple[str, ...]
    summary: tuple[str, str, str]
    key_positions: tuple[int, int, int]


def _fill(template: str, people: Sequence[str], cities: Sequence[str]) -> list[str]:
    return template.format(p0=people[0], p1=people[1], c0=cities[0], c1=cities[1]).split()


def make_document(
    rng: random.Random, n_tokens: int, people: Sequence[str], cities: Sequence[str]
) -> Document:
    """A document of at least ``n_tokens`` tokens about 4 people and 3 cities drawn from the
    ``people`` and ``cities`` pools; the key sentence is at a random sentence position."""
    if n_tokens < 8:
        raise ValueError(f"n_tokens: expected >= 8 (room for the key sentence), got {n_tokens}")
    cast = rng.sample(list(people), 4)
    places = rng.sample(list(cities), 3)
    host, guest = cast[0], cast[1]
    city = places[0]
    sentences: list[list[str]] = []
    length = len(KEY_TEMPLATE.split())
    while length < n_tokens:
        sentence = _fill(rng.choice(DISTRACTORS), rng.sample(cast, 2), rng.sample(places, 2))
        sentences.append(sentence)
        length += len(sentence)
    at = rng.randint(0, len(sentences))
    sentences.insert(at, _fill(KEY_TEMPLATE, [host, guest], [city, city]))
    start = sum(len(s) for s in sentences[:at])
    tokens = tuple(w for s in sentences for w in s)
    return Document(tokens, (host, guest, city), (start, start + 2, start + 4))


@dataclass(frozen=True)
class DocumentConfig:
    """Training documents of ``min_len``..``max_len`` tokens; train and test name pools are
    disjoint (``n_people``, ``n_cities`` names each)."""

    n_train: int = 800
    n_val: int = 200
    min_len: int = 100
    max_len: int = 250
    n_people: int = 300
    n_cities: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val"):
            expect_positive_int(getattr(self, name), name, minimum=0)
        expect_positive_int(self.min_len, "min_len", minimum=8)
        expect_positive_int(self.max_len, "max_len", minimum=self.min_len, minimum_name="min_len")
        if self.n_people < 4 or self.n_cities < 3:
            raise ValueError(
                f"n_people, n_cities: expected >= 4 and >= 3, "
                f"got {self.n_people} and {self.n_cities}"
            )
        expect_int(self.seed, "seed")


class DocumentData:
    """Training and validation documents (training names) and :meth:`test_documents` of any
    length with names that never occur in training."""

    def __init__(self, config: DocumentConfig) -> None:
        self.config = config
        rng = random.Random(f"{config.seed}-names")
        names = make_names(rng, 2 * (config.n_people + config.n_cities))
        k, m = config.n_people, config.n_cities
        self.train_people, self.train_cities = names[:k], names[k : k + m]
        self.test_people, self.test_cities = names[k + m : 2 * k + m], names[2 * k + m :]
        self.vocab = Vocab(template_words())
        rng = random.Random(f"{config.seed}-train")
        self.train = [
            self._doc(rng, rng.randint(config.min_len, config.max_len), False)
            for _ in range(config.n_train)
        ]
        self.val = [
            self._doc(rng, rng.randint(config.min_len, config.max_len), True)
            for _ in range(config.n_val)
        ]

    def _doc(self, rng: random.Random, n_tokens: int, test: bool) -> Document:
        people = self.test_people if test else self.train_people
        cities = self.test_cities if test else self.train_cities
        return make_document(rng, n_tokens, people, cities)

    def test_documents(self, n: int, n_tokens: int, seed: int = 1) -> list[Document]:
        """``n`` documents of about ``n_tokens`` tokens with unseen (test) names."""
        rng = random.Random(f"{self.config.seed}-test-{seed}-{n_tokens}")
        return [self._doc(rng, n_tokens, True) for _ in range(n)]


def make_document_data(config: DocumentConfig | None = None) -> DocumentData:
    """The long-input data from ``config`` (default :class:`DocumentConfig`); deterministic."""
    return DocumentData(config or DocumentConfig())


@dataclass
class DocumentBatch:
    """``ids`` (batch, n) encoder ids (names -> ``<unk>``), ``lengths`` (batch,),
    ``copy_ids`` (batch, n): index of each token's word among its document's distinct words,
    ``targets`` (batch, 3): the copy ids of the summary words; ``words``: each document's
    distinct words, so that ``words[b][i]`` is the word with copy id ``i``."""

    ids: torch.Tensor
    lengths: torch.Tensor
    copy_ids: torch.Tensor
    targets: torch.Tensor
    words: list[list[str]]


def document_batch(docs: Sequence[Document], vocab: Vocab) -> DocumentBatch:
    """Encode and pad ``docs`` into one :class:`DocumentBatch`."""
    ids, lengths = pad_ids([vocab.encode(d.tokens) for d in docs])  # (b, n), (b,)
    words = [list(dict.fromkeys(d.tokens)) for d in docs]  # distinct words, first-seen order
    index = [{w: i for i, w in enumerate(ws)} for ws in words]
    copy_ids, _ = pad_ids([[index[b][w] for w in d.tokens] for b, d in enumerate(docs)])
    targets = torch.tensor([[index[b][w] for w in d.summary] for b, d in enumerate(docs)])
    return DocumentBatch(ids, lengths, copy_ids, targets, words)  # targets: (b, 3)
