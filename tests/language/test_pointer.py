"""Pointer (copy) attention over long documents."""

import random

import pytest
import torch

from course_lib.data.documents import DocumentConfig, document_batch, make_document_data
from course_lib.language.pointer import (
    PointerConfig,
    SlotPointer,
    copy_distribution,
    pointer_loss,
    predict_words,
)
from course_lib.train.loops import fit


def test_copy_distribution_sums_repeated_words():
    weights = torch.tensor([[[0.5, 0.2, 0.3, 0.0]]])
    copy_ids = torch.tensor([[0, 1, 0, 2]])
    assert torch.allclose(
        copy_distribution(weights, copy_ids, 3), torch.tensor([[[0.8, 0.2, 0.0]]])
    )
    assert predict_words(weights, copy_ids).tolist() == [[0]]
    with pytest.raises(TypeError, match="copy_ids: expected dtype torch.long"):
        copy_distribution(weights, copy_ids.float(), 3)
    with pytest.raises(ValueError, match="weights and copy_ids positions must match"):
        copy_distribution(weights, copy_ids[:, :3], 3)


def test_pointer_shapes_padding_and_modes():
    torch.manual_seed(0)
    model = SlotPointer(PointerConfig(vocab=12, d_model=8, heads=2, window=2))
    ids, lengths = torch.randint(1, 12, (2, 15)), torch.tensor([15, 9])
    weights = model(ids, lengths)
    assert weights.shape == (2, 3, 15)
    assert (weights[1, :, 9:] == 0).all() and torch.allclose(weights.sum(-1), torch.ones(2, 3))
    assert torch.allclose(weights, model(ids, lengths, mode="dense"), atol=1e-5)
    alone = model(ids[1:2, :9], lengths[1:2])
    assert torch.allclose(alone, weights[1:2, :, :9], atol=1e-5)


def test_short_training_copies_unseen_names():
    torch.set_num_threads(1)
    data = make_document_data(
        DocumentConfig(n_train=300, n_val=0, min_len=30, max_len=60, n_people=60, n_cities=20)
    )
    torch.manual_seed(0)
    model = SlotPointer(PointerConfig(len(data.vocab), d_model=16, heads=4, window=4))

    def batches(epoch):
        order = list(range(len(data.train)))
        random.Random(len(order)).shuffle(order)
        return (
            (document_batch([data.train[i] for i in order[s : s + 25]], data.vocab),)
            for s in range(0, len(order), 25)
        )

    def loss_fn(m, b):
        return pointer_loss(m(b.ids, b.lengths), b.copy_ids, b.targets)

    fit(model, loss_fn, batches, epochs=8, lr=1e-2)
    test = document_batch(data.test_documents(50, 200), data.vocab)
    with torch.no_grad():
        predicted = predict_words(model(test.ids, test.lengths), test.copy_ids)
    slot_accuracy = (predicted == test.targets).float().mean().item()
    assert slot_accuracy > 0.8  # chance: about 1 in 10 names
