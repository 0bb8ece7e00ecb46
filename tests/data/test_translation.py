"""The number-translation data of lesson 02 (num2words, offline, seeded)."""

import random

import pytest
import torch

from course_lib.data.translation import (
    SEP,
    TranslationConfig,
    iterate_batches,
    make_batch,
    make_pair,
    make_translation_data,
    number_to_words,
    sample_number,
)

SMALL = TranslationConfig(n_train=60, n_val=12, n_test=30, n_long=9, seed=3)


def test_number_words_in_three_languages_with_german_compounds_split():
    assert number_to_words(305, "en") == ["three", "hundred", "and", "five"]
    assert number_to_words(24, "de") == ["vier", "und", "zwanzig"]
    assert number_to_words(97, "fr") == ["quatre", "vingt", "dix", "sept"]
    assert number_to_words(21_000, "de") == ["ein", "und", "zwanzig", "tausend"]
    with pytest.raises(ValueError, match="lang: expected one of"):
        number_to_words(3, "xx")
    with pytest.raises(ValueError, match="number: expected an int >= 0"):
        number_to_words(-1, "en")


def test_pairs_of_lists_use_a_separator_on_both_sides():
    pair = make_pair((24, 7), "de")
    assert pair.src == ("vier", "und", "zwanzig", SEP, "sieben")
    assert pair.tgt == ("2", "4", SEP, "7")
    with pytest.raises(ValueError, match="numbers: expected a non-empty list"):
        make_pair((), "en")


def test_sample_number_has_the_requested_digits():
    rng = random.Random(0)
    for digits in range(1, 7):
        for _ in range(20):
            assert len(str(sample_number(rng, digits, 0.5))) == digits


def test_same_seed_same_data_and_splits_are_disjoint():
    a, b = make_translation_data(SMALL), make_translation_data(SMALL)
    assert a.test == b.test and a.train == b.train and a.long == b.long
    c = make_translation_data(TranslationConfig(n_train=60, n_val=12, n_test=30, n_long=9, seed=4))
    assert c.test != a.test
    keys = [{(p.lang, p.numbers) for p in split} for split in a.splits().values()]
    assert sum(map(len, keys)) == len(set().union(*keys)) == 60 + 12 + 30 + 9


def test_every_token_is_in_the_vocabularies_and_long_slice_is_longest():
    data = make_translation_data(SMALL)
    for split in data.splits().values():
        for pair in split:
            assert data.src_vocab.unk_id not in data.src_vocab.encode(pair.src), pair
            assert data.tgt_vocab.unk_id not in data.tgt_vocab.encode(pair.tgt), pair
            assert "".join(pair.tgt).split(SEP) == [str(n) for n in pair.numbers]
    longest = min(len(p.src) for p in data.long)
    shorter = sum(len(p.src) < longest for p in data.train) / len(data.train)
    assert shorter > 0.9
    assert all(len(p.numbers) == SMALL.max_items and "0" not in p.tgt for p in data.long)


def test_batches_are_padded_teacher_forcing_pairs():
    data = make_translation_data(SMALL)
    batch = make_batch(data.test[:5], data.src_vocab, data.tgt_vocab)
    assert batch.src.shape == (5, int(batch.src_lengths.max()))
    assert batch.tgt_in.shape == batch.tgt_out.shape
    assert (batch.tgt_in[:, 0] == data.tgt_vocab.bos_id).all()
    assert (
        (batch.tgt_in[:, 1:] == batch.tgt_out[:, :-1]).logical_or(batch.tgt_out[:, :-1] == 3).all()
    )
    ends = torch.tensor([len(p.tgt) for p in batch.pairs])
    assert (batch.tgt_out[torch.arange(5), ends] == data.tgt_vocab.eos_id).all()
    shuffled = [
        p
        for b in iterate_batches(
            data.train, data.src_vocab, data.tgt_vocab, 8, shuffle=True, seed=1
        )
        for p in b.pairs
    ]
    assert sorted(map(id, shuffled)) == sorted(map(id, data.train))
    with pytest.raises(ValueError, match="batch_size: expected a positive int"):
        next(iterate_batches(data.train, data.src_vocab, data.tgt_vocab, 0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"languages": ("en", "xx")}, "languages: expected a non-empty subset"),
        ({"max_digits": 0}, "max_digits: expected an int in"),
        ({"max_items": 11}, "max_items: expected an int in"),
        ({"zero_prob": 1.0}, "zero_prob: expected a number in"),
        ({"n_train": -1}, "n_train: expected an int >= 0"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TranslationConfig(**kwargs)


def test_too_many_pairs_for_a_tiny_space_is_an_error():
    config = TranslationConfig(
        languages=("en",), max_items=1, max_digits=1, n_train=0, n_val=0, n_test=50, n_long=0
    )
    with pytest.raises(ValueError, match="n_test: could not draw 50 distinct pairs"):
        make_translation_data(config)
