"""The order and long-range toy tasks: deterministic, balanced, and built as documented."""

import pytest
import torch

from course_lib.toy_sequences import (
    A_ID,
    B_ID,
    IGNORE,
    RecallConfig,
    order_task,
    recall_task,
)


def test_order_task_twins_hold_the_same_tokens_with_opposite_labels():
    tokens, labels = order_task(200, length=10, vocab=9, seed=3)
    assert tokens.shape == (400, 10) and labels.shape == (400,)
    assert torch.equal(tokens, order_task(200, length=10, vocab=9, seed=3)[0])
    assert not torch.equal(tokens, order_task(200, length=10, vocab=9, seed=4)[0])
    assert ((tokens == A_ID).sum(1) == 1).all() and ((tokens == B_ID).sum(1) == 1).all()
    a_pos, b_pos = (tokens == A_ID).int().argmax(1), (tokens == B_ID).int().argmax(1)
    assert torch.equal(labels, (a_pos < b_pos).long())
    first, twin = tokens[0::2], tokens[1::2]
    assert torch.equal(first.sort(1).values, twin.sort(1).values)  # same bag of tokens
    assert torch.equal(labels[0::2], 1 - labels[1::2])
    assert int(tokens.max()) < 9


def test_recall_task_labels_the_marked_symbol_after_it():
    config = RecallConfig(length=20, n_symbols=5)
    tokens, labels, distances = recall_task(500, config, seed=1)
    assert tokens.shape == labels.shape == distances.shape == (500, 20)
    assert torch.equal(tokens, recall_task(500, config, seed=1)[0])
    is_marked = tokens >= 5
    assert (is_marked.sum(1) == 1).all() and int(tokens.max()) < config.vocab == 10
    marked = is_marked.int().argmax(1)  # (500,)
    symbol = tokens[torch.arange(500), marked] - 5
    positions = torch.arange(20)[None]
    after = positions > marked[:, None]
    assert torch.equal(labels[after], symbol[:, None].expand(-1, 20)[after])
    assert (labels[~after] == IGNORE).all() and (distances[~after] == -1).all()
    assert torch.equal(distances[after], (positions - marked[:, None])[after])
    assert distances.max() == 19


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="length"):
        RecallConfig(length=1)
    with pytest.raises(ValueError, match="vocab"):
        order_task(5, vocab=3)
    with pytest.raises(ValueError, match="n_pairs"):
        order_task(0)
