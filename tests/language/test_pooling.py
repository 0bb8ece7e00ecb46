"""Attention pooling vs uniform pooling, and the rationale mass."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.data.sentiment import (
    SentimentConfig,
    iterate_sentiment_batches,
    make_sentiment_data,
    sentiment_batch,
)
from course_lib.language.pooling import (
    AttentionPooling,
    PooledClassifier,
    PoolingConfig,
    rationale_mass,
    uniform_pooling,
)
from course_lib.train.loops import fit


@pytest.mark.parametrize(
    "pooling, keys", [("attention", "word"), ("attention", "context"), ("uniform", "word")]
)
def test_shapes_and_padding_gets_zero_weight(pooling, keys):
    torch.manual_seed(0)
    model = PooledClassifier(PoolingConfig(vocab=30, pooling=pooling, keys=keys))
    ids = torch.randint(4, 30, (3, 7))
    lengths = torch.tensor([7, 3, 1])
    ids = ids.masked_fill(torch.arange(7)[None] >= lengths[:, None], 0)
    logits, weights = model(ids, lengths)
    assert logits.shape == (3, 2) and weights.shape == (3, 7)
    assert (weights[1, 3:] == 0).all() and (weights[2, 1:] == 0).all()
    assert torch.allclose(weights.sum(-1), torch.ones(3))
    alone, _ = model(ids[1:2, :3], lengths[1:2])
    assert torch.allclose(alone, logits[1:2], atol=1e-6), "padding must not change the output"


def test_encoder_is_causal_with_the_given_window():
    torch.manual_seed(0)
    model = PooledClassifier(PoolingConfig(vocab=30, window=2))
    ids = torch.randint(4, 30, (1, 6))
    changed = ids.clone()
    changed[0, 3] = 4 if ids[0, 3] != 4 else 5
    diff = (model.encode(ids) - model.encode(changed)).abs().sum(-1)[0]  # (6,)
    assert diff[:3].max() == 0 and diff[3] > 0 and diff[4] > 0 and diff[5] == 0


def test_uniform_pooling_and_rationale_mass():
    states = torch.arange(12.0).reshape(2, 3, 2)
    mask = torch.tensor([[[True, True, True]], [[True, False, False]]])
    pooled, weights = uniform_pooling(states, mask)
    assert torch.allclose(weights, torch.tensor([[1 / 3] * 3, [1.0, 0, 0]]))
    assert torch.allclose(pooled, torch.tensor([[2.0, 3.0], [6.0, 7.0]]))
    rationale = torch.tensor([[False, True, True], [True, False, False]])
    assert torch.allclose(rationale_mass(weights, rationale), torch.tensor([2 / 3, 1.0]))
    with pytest.raises(TypeError, match="rationale: expected dtype torch.bool"):
        rationale_mass(weights, rationale.float())
    with pytest.raises(ValueError, match="rationale: shape"):
        rationale_mass(weights, rationale[:, :2])


def test_attention_pooling_names_mismatched_lengths():
    pool = AttentionPooling(4, 3)
    with pytest.raises(ValueError, match="keys and values lengths must match"):
        pool(torch.randn(2, 5, 4), torch.randn(2, 6, 4), torch.ones(2, 1, 5, dtype=torch.bool))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="pooling: expected one of"):
        PoolingConfig(vocab=10, pooling="max")
    with pytest.raises(ValueError, match="keys: expected one of"):
        PoolingConfig(vocab=10, keys="both")
    with pytest.raises(ValueError, match="window: expected a positive int"):
        PoolingConfig(vocab=10, window=0)


def test_short_training_beats_uniform_and_finds_the_rationale():
    torch.set_num_threads(1)
    data = make_sentiment_data(SentimentConfig(n_train=1000, n_val=10, n_test=200, max_len=20))
    test = sentiment_batch(data.test, data.vocab)
    results = {}
    for pooling in ("attention", "uniform"):
        torch.manual_seed(0)
        model = PooledClassifier(PoolingConfig(len(data.vocab), pooling=pooling))

        def loss_fn(m, b):
            return F.cross_entropy(m(b.ids, b.lengths)[0], b.labels)

        fit(
            model,
            loss_fn,
            lambda epoch: (
                (b,) for b in iterate_sentiment_batches(data.train, data.vocab, 32, shuffle=True)
            ),
            epochs=6,
            lr=2e-2,
        )
        with torch.no_grad():
            logits, weights = model(test.ids, test.lengths)
        accuracy = (logits.argmax(-1) == test.labels).float().mean().item()
        results[pooling] = accuracy, rationale_mass(weights, test.rationale).mean().item()
    assert results["attention"][0] > 0.9
    assert results["attention"][0] > results["uniform"][0]
    assert results["attention"][1] > 0.5 > 0.2 > results["uniform"][1]
