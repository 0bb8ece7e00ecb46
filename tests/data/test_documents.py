"""Long generated documents whose key people and place must be copied."""

import random

import pytest
import torch

from course_lib.data.documents import (
    DocumentConfig,
    document_batch,
    make_document,
    make_document_data,
    make_names,
)

SMALL = DocumentConfig(n_train=30, n_val=10, min_len=40, max_len=80, n_people=20, n_cities=8)


def test_key_sentence_holds_the_summary_at_the_key_positions():
    rng = random.Random(0)
    people, cities = make_names(rng, 10), make_names(rng, 5)
    for n in (8, 50, 300):
        doc = make_document(rng, n, people, cities)
        assert len(doc.tokens) >= n
        host, guest, city = (doc.tokens[i] for i in doc.key_positions)
        assert (host, guest, city) == doc.summary
        start = doc.key_positions[0]
        assert doc.tokens[start : start + 6] == (host, "welcomed", guest, "to", city, ".")
        assert (
            sum(
                doc.tokens[i : i + 2] == ("welcomed", guest) and doc.tokens[i - 1] == host
                for i in range(1, len(doc.tokens))
            )
            == 1
        )
    with pytest.raises(ValueError, match="n_tokens: expected >= 8"):
        make_document(rng, 5, people, cities)


def test_test_names_never_occur_in_training_and_data_is_deterministic():
    data, again = make_document_data(SMALL), make_document_data(SMALL)
    assert data.train == again.train and data.test_documents(5, 100) == again.test_documents(5, 100)
    assert not set(data.train_people + data.train_cities) & set(data.test_people + data.test_cities)
    train_words = {w for d in data.train for w in d.tokens}
    for doc in data.test_documents(5, 200):
        assert not set(doc.summary) & train_words
        assert abs(len(doc.tokens) - 200) < 15
    assert all(set(d.summary) <= set(data.test_people + data.test_cities) for d in data.val)


def test_batch_copy_ids_point_back_to_the_words():
    data = make_document_data(SMALL)
    batch = document_batch(data.train[:3], data.vocab)
    for b, doc in enumerate(data.train[:3]):
        n = len(doc.tokens)
        assert [batch.words[b][i] for i in batch.copy_ids[b, :n].tolist()] == list(doc.tokens)
        assert [batch.words[b][i] for i in batch.targets[b].tolist()] == list(doc.summary)
        names = set(doc.tokens) - set(data.vocab.itos)
        assert all(
            batch.ids[b, i] == data.vocab.unk_id for i, w in enumerate(doc.tokens) if w in names
        )
    assert batch.targets.shape == (3, 3) and batch.targets.dtype == torch.long


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"min_len": 4}, "min_len: expected an int >= 8"),
        ({"max_len": 10}, "max_len: expected an int >= min_len"),
        ({"n_people": 2}, "n_people, n_cities"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DocumentConfig(**kwargs)
