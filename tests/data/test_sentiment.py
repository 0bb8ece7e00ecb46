"""The generated sentiment corpus with known rationale tokens."""

import random

import pytest

from course_lib.data.sentiment import (
    NEGATIONS,
    NEGATIVE,
    POSITIVE,
    SentimentConfig,
    iterate_sentiment_batches,
    make_review,
    make_sentiment_data,
    sentiment_batch,
)

SMALL = SentimentConfig(n_train=200, n_val=20, n_test=50, seed=5)


def test_labels_follow_the_rationale_tokens():
    rng = random.Random(0)
    for _ in range(300):
        review = make_review(rng, rng.randint(2, 30))
        words = [review.tokens[i] for i in review.rationale]
        polarity = 1 if words[-1] in POSITIVE else 0
        assert words[-1] in POSITIVE + NEGATIVE
        if len(words) == 2:
            assert words[0] in NEGATIONS
            polarity = 1 - polarity
        assert review.label == polarity
        others = [t for i, t in enumerate(review.tokens) if i not in review.rationale]
        assert not set(others) & set(POSITIVE + NEGATIVE + NEGATIONS)


def test_deterministic_balanced_and_lengths_in_range():
    a, b = make_sentiment_data(SMALL), make_sentiment_data(SMALL)
    assert a.train == b.train and a.test == b.test
    assert make_sentiment_data(SentimentConfig(n_train=200, seed=6)).train != a.train
    assert 0.4 < sum(r.label for r in a.train) / len(a.train) < 0.6
    assert 0.35 < sum(len(r.rationale) == 2 for r in a.train) / len(a.train) < 0.65
    assert all(SMALL.min_len <= len(r.tokens) <= SMALL.max_len for r in a.train)


def test_batches_mark_rationale_and_padding():
    data = make_sentiment_data(SMALL)
    batch = sentiment_batch(data.test[:4], data.vocab)
    assert batch.ids.shape == batch.rationale.shape == (4, int(batch.lengths.max()))
    for row, review in enumerate(data.test[:4]):
        assert batch.rationale[row].nonzero().flatten().tolist() == list(review.rationale)
        assert (batch.ids[row, len(review.tokens) :] == 0).all()
    assert batch.labels.tolist() == [r.label for r in data.test[:4]]
    assert (
        sum(
            len(b.labels)
            for b in iterate_sentiment_batches(data.train, data.vocab, 64, shuffle=True)
        )
        == 200
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"min_len": 1}, "min_len: expected an int >= 2"),
        ({"max_len": 3}, "max_len: expected an int >= min_len"),
        ({"negation_prob": 1.5}, "negation_prob: expected a number in"),
        ({"n_test": -2}, "n_test: expected an int >= 0"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SentimentConfig(**kwargs)
