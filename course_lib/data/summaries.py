"""Lesson-02 summarisation task: short generated reports, each with a reference summary.

Provenance: generated from a seed, in milliseconds, never cached. A report is the minutes of a
meeting of an organisation (the *council*, the *board*, ...) in a made-up town, about made-up
people (names built from syllables by :func:`course_lib.data.documents.make_names`). It has
``min_sentences``..``max_sentences`` sentences:

- sentence 0 always opens the report: ``the council of Vobelu met in the town hall on monday .``;
- ``n_key`` **news** sentences (an election, a resignation, a budget passed, a bridge closed ...)
  sit at random positions among the others, never at position 0;
- every other sentence is **filler** (coffee was served, the weather ...), a **near miss**
  that uses the same words as a piece of news but is not one (``rumours that Kalomi resigned
  from the council were false .``), or **another organisation's news** (up to
  ``max_other_news`` per report): a news sentence about, say, the *board* in a report of the
  *council*. The summary is about the organisation that met, so such a sentence is not news
  here, although a sentence just like it is news in another report: whether it matters depends
  on the rest of the document, not on the sentence alone.

The **reference summary** rewrites each news sentence shorter, in the order of the report
(``after a long debate , the council of Vobelu approved the new budget .`` ->
``the council of Vobelu approved the budget .``), as a person writing a summary would; so no
choice of whole sentences matches it exactly, and a summary is scored by word overlap (ROUGE).

Which sentences belong in the summary depends on what they say, not where they are: the
opening sentence is never news, news is as likely at any later position, so taking the first
``k`` sentences (*lead-k*) only gets partial credit (the opening shares the organisation and the
town with the summary, and now and then a news sentence happens to come early).

The names of the test reports never occur in training (like :mod:`course_lib.data.documents`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from course_lib.core.shapes import expect_int, expect_positive_int
from course_lib.data.documents import make_names
from course_lib.data.vocab import PAD_ID, Vocab

ORGS = ("council", "committee", "board", "union", "club")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
MONTHS = ("march", "april", "may", "june", "july")
OPENING = "the {org} of {c0} met in the town hall on {day} ."
KINDS = ("opening", "news", "other news", "near miss", "filler")  # what a sentence is

# (sentence in the report, its rewrite in the reference summary): each is one piece of news.
NEWS = (
    (
        "after a long debate , the {org} of {c0} approved the new budget .",
        "the {org} of {c0} approved the budget .",
    ),
    (
        "{p0} , who had led the {org} for years , resigned on {day} .",
        "{p0} resigned from the {org} .",
    ),
    (
        "the members elected {p1} as the new chair of the {org} .",
        "{p1} was elected chair of the {org} .",
    ),
    (
        "{p2} announced that the bridge to {c1} will close in {month} .",
        "the bridge to {c1} will close in {month} .",
    ),
    (
        "the {org} voted to build a new school in {c0} .",
        "a new school will be built in {c0} .",
    ),
    (
        "{p0} and {p3} signed an agreement to share the cost of the road .",
        "{p0} and {p3} agreed to share the road .",
    ),
    (
        "the police arrested {p3} after the fire at the market in {c1} .",
        "{p3} was arrested after a fire in {c1} .",
    ),
    (
        "taxes in {c0} will rise next year , the {org} decided .",
        "taxes in {c0} will rise next year .",
    ),
)
# Sentences that are not news; the near misses reuse the words of the news above.
FILLER = (
    "coffee and cake were served after the meeting .",
    "the weather in {c0} was cold and wet .",
    "{p1} thanked {p2} for the flowers .",
    "the minutes of the last meeting were read aloud .",
    "{p2} arrived late because the train from {c1} was slow .",
    "{p0} and {p1} talked about the weather .",
    "the road outside the town hall was quiet .",
    "{p3} asked for a window to be opened .",
)
NEAR_MISSES = (
    "rumours that {p0} resigned from the {org} were false .",
    "{p1} asked whether the budget could be printed in larger letters .",
    "{p2} said the chair was too close to the window .",
    "{p3} remembered the old bridge to {c1} from school .",
    "a photo of the market in {c1} was shown after the coffee .",
    "{p1} joked that taxes in {c0} will never fall .",
)


def template_words() -> list[str]:
    """Every word the templates and their fillers use (the encoder's vocabulary; names are not
    in it)."""
    fills = {*ORGS, *DAYS, *MONTHS}
    texts = (OPENING, *(t for pair in NEWS for t in pair), *FILLER, *NEAR_MISSES)
    words = {w for t in texts for w in t.split() if not w.startswith("{")}
    return sorted(words | fills)


@dataclass(frozen=True)
class Report:
    """A generated report: its ``sentences`` (token tuples), the ``summary`` (the reference,
    one token tuple per news sentence), ``key``: the indices of the news sentences, in
    order, so that ``summary[i]`` rewrites ``sentences[key[i]]``, and the kind of each
    sentence (``kinds[i]`` is one of :data:`KINDS`)."""

    sentences: tuple[tuple[str, ...], ...]
    summary: tuple[tuple[str, ...], ...]
    key: tuple[int, ...]
    kinds: tuple[str, ...]

    @property
    def other(self) -> tuple[int, ...]:
        """The indices of another organisation's news (never in the summary), in order."""
        return tuple(i for i, kind in enumerate(self.kinds) if kind == "other news")

    @property
    def tokens(self) -> tuple[str, ...]:
        """The whole report as one token tuple."""
        return tuple(w for s in self.sentences for w in s)

    @property
    def reference(self) -> tuple[str, ...]:
        """The whole reference summary as one token tuple."""
        return tuple(w for s in self.summary for w in s)


def make_report(
    rng: random.Random,
    n_sentences: int,
    n_key: int,
    people: Sequence[str],
    cities: Sequence[str],
    n_other: int = 0,
) -> Report:
    """A report of ``n_sentences`` sentences with ``n_key`` distinct pieces of news at random
    positions 1..n_sentences-1 and ``n_other`` news sentences of another organisation, about
    4 people and 2 towns drawn from ``people`` and ``cities``."""
    expect_positive_int(n_key, "n_key", maximum=len(NEWS))
    expect_positive_int(n_other, "n_other", minimum=0)
    expect_positive_int(
        n_sentences, "n_sentences", minimum=n_key + n_other + 1, minimum_name="n_key + n_other + 1"
    )
    if len(people) < 4 or len(cities) < 2:
        raise ValueError(
            f"people, cities: expected >= 4 and >= 2 names, got {len(people)} and {len(cities)}"
        )
    fill = {f"p{i}": name for i, name in enumerate(rng.sample(list(people), 4))}
    fill.update({f"c{i}": name for i, name in enumerate(rng.sample(list(cities), 2))})
    org, other_org = rng.sample(ORGS, 2)
    fill.update(org=org, day=rng.choice(DAYS), month=rng.choice(MONTHS))
    positions = rng.sample(range(1, n_sentences), n_key + n_other)
    key, other = sorted(positions[:n_key]), positions[n_key:]
    news = rng.sample(NEWS, n_key)  # (report sentence, summary sentence) pairs, in key order
    texts = [OPENING] + [rng.choice(FILLER + NEAR_MISSES) for _ in range(n_sentences - 1)]
    kinds = ["opening"] + ["near miss" if t in NEAR_MISSES else "filler" for t in texts[1:]]
    for at, (long, _) in zip(key, news, strict=True):
        texts[at], kinds[at] = long, "news"
    about_org = [long for long, _ in NEWS if "{org}" in long]
    for at in other:  # another organisation's news: the same templates, the other name
        texts[at], kinds[at] = rng.choice(about_org).replace("{org}", other_org), "other news"
    sentences = tuple(tuple(t.format(**fill).split()) for t in texts)
    summary = tuple(tuple(short.format(**fill).split()) for _, short in news)
    return Report(sentences, summary, tuple(key), tuple(kinds))


@dataclass(frozen=True)
class SummaryConfig:
    """Reports of ``min_sentences``..``max_sentences`` sentences with ``n_key`` news sentences
    each and 0..``max_other_news`` news sentences of another organisation; train and test name
    pools are disjoint (``n_people``, ``n_cities`` names each)."""

    n_train: int = 2000
    n_val: int = 200
    n_test: int = 400
    min_sentences: int = 8
    max_sentences: int = 14
    n_key: int = 3
    max_other_news: int = 2
    n_people: int = 200
    n_cities: int = 60
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "n_test"):
            expect_positive_int(getattr(self, name), name, minimum=0)
        expect_positive_int(self.n_key, "n_key", maximum=len(NEWS), note="distinct kinds of news")
        expect_positive_int(self.max_other_news, "max_other_news", minimum=0)
        expect_positive_int(
            self.min_sentences,
            "min_sentences",
            minimum=self.n_key + self.max_other_news + 1,
            minimum_name="n_key + max_other_news + 1",
        )
        expect_positive_int(
            self.max_sentences,
            "max_sentences",
            minimum=self.min_sentences,
            minimum_name="min_sentences",
        )
        if self.n_people < 4 or self.n_cities < 2:
            raise ValueError(
                f"n_people, n_cities: expected >= 4 and >= 2, "
                f"got {self.n_people} and {self.n_cities}"
            )
        expect_int(self.seed, "seed")


class SummaryData:
    """``train`` and ``val`` reports (training names), ``test`` reports (names never seen in
    training) and the encoder's ``vocab`` (template words; names -> ``<unk>``)."""

    def __init__(self, config: SummaryConfig) -> None:
        self.config = config
        rng = random.Random(f"{config.seed}-summary-names")
        names = make_names(rng, 2 * (config.n_people + config.n_cities))
        k, m = config.n_people, config.n_cities
        self.train_people, self.train_cities = names[:k], names[k : k + m]
        self.test_people, self.test_cities = names[k + m : 2 * k + m], names[2 * k + m :]
        self.vocab = Vocab(template_words())
        rng = random.Random(f"{config.seed}-summary-train")
        self.train = [self._report(rng, False) for _ in range(config.n_train)]
        self.val = [self._report(rng, False) for _ in range(config.n_val)]
        rng = random.Random(f"{config.seed}-summary-test")
        self.test = [self._report(rng, True) for _ in range(config.n_test)]

    def _report(self, rng: random.Random, test: bool) -> Report:
        c = self.config
        people = self.test_people if test else self.train_people
        cities = self.test_cities if test else self.train_cities
        n = rng.randint(c.min_sentences, c.max_sentences)
        n_other = rng.randint(0, c.max_other_news)
        return make_report(rng, n, c.n_key, people, cities, n_other)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"SummaryData({len(self.train)} train, {len(self.val)} val, {len(self.test)} test "
            f"reports of {c.min_sentences}-{c.max_sentences} sentences, {c.n_key} news each; "
            f"vocabulary {len(self.vocab)})"
        )


def make_summary_data(config: SummaryConfig | None = None) -> SummaryData:
    """The summarisation data from ``config`` (default :class:`SummaryConfig`); deterministic."""
    return SummaryData(config or SummaryConfig())


@dataclass
class SummaryBatch:
    """``ids`` (batch, S, L) encoder ids (names -> ``<unk>``, padding 0), ``sentence_lengths``
    (batch, S) tokens per sentence (0 for padded sentences), ``n_sentences`` (batch,),
    ``labels`` (batch, S) bool: True at the news sentences the reference summarises."""

    ids: torch.Tensor
    sentence_lengths: torch.Tensor
    n_sentences: torch.Tensor
    labels: torch.Tensor


def summary_batch(reports: Sequence[Report], vocab: Vocab) -> SummaryBatch:
    """Encode and pad ``reports`` into one :class:`SummaryBatch`."""
    if len(reports) == 0:
        raise ValueError("reports: expected at least one report, got an empty batch")
    n_sent = max(len(r.sentences) for r in reports)
    n_tok = max(len(s) for r in reports for s in r.sentences)
    ids = torch.full((len(reports), n_sent, n_tok), PAD_ID, dtype=torch.long)  # (batch, S, L)
    sentence_lengths = torch.zeros(len(reports), n_sent, dtype=torch.long)  # (batch, S)
    labels = torch.zeros(len(reports), n_sent, dtype=torch.bool)  # (batch, S)
    for b, report in enumerate(reports):
        for i, sentence in enumerate(report.sentences):
            ids[b, i, : len(sentence)] = torch.tensor(vocab.encode(sentence))
            sentence_lengths[b, i] = len(sentence)
        labels[b, list(report.key)] = True
    n_sentences = torch.tensor([len(r.sentences) for r in reports])  # (batch,)
    return SummaryBatch(ids, sentence_lengths, n_sentences, labels)
