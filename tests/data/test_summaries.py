"""Generated reports with reference summaries (lesson 02's summarisation task)."""

import random
import re

import pytest
import torch

from course_lib.data.summaries import (
    KINDS,
    NEAR_MISSES,
    NEWS,
    ORGS,
    SummaryConfig,
    make_report,
    make_summary_data,
    summary_batch,
)

SMALL = SummaryConfig(n_train=40, n_val=10, n_test=30, n_people=20, n_cities=6)


def names(tokens):
    return {t for t in tokens if t[:1].isupper()}


def test_same_seed_same_reports_other_seed_other_reports():
    data, again = make_summary_data(SMALL), make_summary_data(SMALL)
    assert (data.train, data.val, data.test) == (again.train, again.val, again.test)
    other = make_summary_data(SummaryConfig(**{**SMALL.__dict__, "seed": 1}))
    assert other.train != data.train and other.test != data.test


def test_test_names_never_occur_in_training():
    data = make_summary_data(SMALL)
    assert not set(data.train_people + data.train_cities) & set(data.test_people + data.test_cities)
    train_words = {w for r in data.train + data.val for w in r.tokens}
    assert not {n for r in data.test for n in names(r.tokens)} & train_words


def test_reference_summarises_the_key_sentences_of_the_report():
    data = make_summary_data(SMALL)
    near_misses = {re.sub(r"\{\w+\}", "{}", t) for t in NEAR_MISSES}
    for report in data.train + data.test:
        c = SMALL
        assert c.min_sentences <= len(report.sentences) <= c.max_sentences
        assert len(report.summary) == len(report.key) == c.n_key
        assert list(report.key) == sorted(set(report.key)) and 0 not in report.key
        opening = report.sentences[0]
        assert opening[:4] == ("the", opening[1], "of", opening[3]) and opening[1] in ORGS
        org = opening[1]
        for i, short in zip(report.key, report.summary, strict=True):
            source = report.sentences[i]
            # every name and organisation the summary sentence mentions is in its source
            assert names(short) <= names(source), (short, source)
            assert set(short) & set(ORGS) <= {org} and set(source) & set(ORGS) <= {org}
            # and most of its words: a shorter rewrite of that sentence
            assert len(set(short) & set(source)) >= 0.6 * len(set(short)), (short, source)
        # another organisation's news is never in the summary, and it is marked in `other`
        other = [i for i, s in enumerate(report.sentences) if set(s) & (set(ORGS) - {org})]
        assert list(report.other) == other and not set(other) & set(report.key)
        assert len(report.kinds) == len(report.sentences) and set(report.kinds) <= set(KINDS)
        assert [i for i, k in enumerate(report.kinds) if k == "news"] == list(report.key)
        assert report.kinds[0] == "opening" and "opening" not in report.kinds[1:]
        for sentence, kind in zip(report.sentences, report.kinds, strict=True):
            shape = " ".join("{}" if w[:1].isupper() or w in ORGS else w for w in sentence)
            assert (kind == "near miss") == (shape in near_misses), sentence
        assert report.tokens == tuple(w for s in report.sentences for w in s)
        assert report.reference == tuple(w for s in report.summary for w in s)


def test_news_is_not_at_the_start():
    data = make_summary_data(SummaryConfig(n_train=400, n_val=0, n_test=0))
    positions = [i for r in data.train for i in r.key]
    assert 0 not in positions
    # news spreads over the report: as often in its second half as in its first (roughly)
    late = sum(i >= len(r.sentences) / 2 for r in data.train for i in r.key)
    assert 0.35 < late / len(positions) < 0.65


def test_batch_pads_sentences_and_marks_the_key():
    data = make_summary_data(SMALL)
    reports = data.train[:4]
    batch = summary_batch(reports, data.vocab)
    n_sent = max(len(r.sentences) for r in reports)
    assert batch.ids.shape[:2] == (4, n_sent) and batch.labels.shape == (4, n_sent)
    assert batch.labels.dtype == torch.bool
    for b, report in enumerate(reports):
        assert batch.n_sentences[b] == len(report.sentences)
        assert batch.labels[b].nonzero().flatten().tolist() == list(report.key)
        for i, sentence in enumerate(report.sentences):
            n = len(sentence)
            assert batch.sentence_lengths[b, i] == n
            assert data.vocab.decode(batch.ids[b, i, :n]) == [
                w if w in data.vocab else "<unk>" for w in sentence
            ]
            assert (batch.ids[b, i, n:] == 0).all()
        assert (batch.sentence_lengths[b, len(report.sentences) :] == 0).all()
    with pytest.raises(ValueError, match="reports: expected at least one"):
        summary_batch([], data.vocab)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_key": 0}, ValueError, "n_key: expected an int in"),
        ({"n_key": len(NEWS) + 1}, ValueError, "n_key: expected an int in"),
        ({"min_sentences": 5}, ValueError, "min_sentences: expected an int >= n_key"),
        ({"max_sentences": 7}, ValueError, "max_sentences: expected an int >= min_sentences"),
        ({"max_other_news": -1}, ValueError, "max_other_news"),
        ({"n_train": -1}, ValueError, "n_train"),
        ({"n_people": 3}, ValueError, "n_people, n_cities"),
        ({"seed": "0"}, TypeError, "seed: expected an int"),
    ],
)
def test_config_rejects_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        SummaryConfig(**kwargs)


def test_make_report_rejects_bad_values():
    rng = random.Random(0)
    people, cities = ["Ab", "Cd", "Ef", "Gh"], ["Ij", "Kl"]
    with pytest.raises(ValueError, match="n_sentences: expected an int >= n_key"):
        make_report(rng, 3, 3, people, cities)
    with pytest.raises(ValueError, match="n_sentences: expected an int >= n_key"):
        make_report(rng, 5, 3, people, cities, n_other=2)
    with pytest.raises(ValueError, match="people, cities"):
        make_report(rng, 8, 3, people[:3], cities)
    report = make_report(rng, 6, 3, people, cities, n_other=2)
    assert len(report.sentences) == 6 and len(report.summary) == 3 and len(report.other) == 2
