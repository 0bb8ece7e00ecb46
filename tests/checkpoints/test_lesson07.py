"""Lesson 07's shipped checkpoints load, match their configs and do what the lesson says: a
window of 4 in two layers recalls 8 positions back and no further, one global token recalls
everything."""

import dataclasses
import math

import pytest
import torch

from course_lib.checkpoints import lesson07, store
from course_lib.scale.sparse import SparseRecallModel
from course_lib.train.utils import count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")

REACH = 2 * lesson07.RECALL_WINDOW  # two layers, each seeing 4 neighbours on each side


def test_checkpoint_files_exist_and_hold_their_records():
    assert lesson07.NAMES == ("recall_window", "recall_window_global")
    for name in lesson07.NAMES:
        assert store.path("07", name).is_file(), name
        model, info = lesson07.load(name)
        assert isinstance(model, SparseRecallModel) and not model.training
        assert info["source"] == "checkpoint" and "state_dict" not in info
        assert info["model_config"] == dataclasses.asdict(lesson07.RECALL_MODELS[name])
        assert info["data_config"] == dataclasses.asdict(lesson07.RECALL)
        assert info["train_config"] == dataclasses.asdict(lesson07.RECALL_TRAIN)
        assert info["parameters"] == count_parameters(model)
        assert len(info["history"]["loss"]) == lesson07.RECALL_TRAIN.steps
        assert info["history"]["loss"][-1] < info["history"]["loss"][0]
        assert info["seconds"] > 0 and isinstance(info["threads"], int) and info["threads"] >= 1
        assert isinstance(info["torch"], str)
    _, window = lesson07.load("recall_window")
    _, glob = lesson07.load("recall_window_global")
    assert window["model_config"]["n_global"] == 0 and glob["model_config"]["n_global"] == 1


def test_window_model_recalls_within_its_reach_only():
    model, _ = lesson07.load("recall_window")
    overall, by_distance = lesson07.recall_accuracy_by_distance(model)
    assert by_distance.shape == (lesson07.RECALL.length,)
    assert math.isnan(by_distance[0])  # no position recalls itself
    assert (by_distance[1 : REACH + 1] > 0.99).all()  # within two windows: perfect
    assert (by_distance[REACH + 1 :] <= 0.3).all()  # beyond: chance is 1/8
    assert overall < 0.5


def test_a_global_token_recalls_at_every_distance():
    model, _ = lesson07.load("recall_window_global")
    overall, by_distance = lesson07.recall_accuracy_by_distance(model)
    assert overall >= 0.95
    assert (by_distance[1:] >= 0.9).all()
    assert by_distance[REACH + 1 :].mean() >= 0.95


def test_build_refuses_another_config_and_unknown_names():
    saved = store.read("07", "recall_window")
    model = lesson07.build("recall_window", saved)
    model.load_state_dict(saved["state_dict"])  # the lesson's config fits the weights
    wider = {**saved, "model_config": {**saved["model_config"], "window": 8}}
    with pytest.raises(ValueError, match="model_config: the checkpoint was made with"):
        lesson07.build("recall_window", wider)
    longer = {**saved, "data_config": {**saved["data_config"], "length": 128}}
    with pytest.raises(ValueError, match="data_config: the checkpoint was made with"):
        lesson07.build("recall_window", longer)
    with pytest.raises(ValueError, match="model_config: the checkpoint was made with"):
        lesson07.build("recall_window_global", saved)  # the other model's checkpoint
    with pytest.raises(ValueError, match="name: expected one of"):
        lesson07.load("recall_dense")
    with pytest.raises(ValueError, match="name: expected one of"):
        lesson07.build("recall_dense")
    with pytest.raises(ValueError, match="name: expected one of"):
        lesson07.train("recall_dense")
    with pytest.raises(ValueError, match="split: expected one of"):
        lesson07.recall_data("dev")


def test_recall_data_and_batches():
    tokens, labels, distances = lesson07.recall_data("test")
    assert tokens.shape == labels.shape == distances.shape == (lesson07.N_TEST, 64)
    again = lesson07.recall_data("test")
    assert torch.equal(again[0], tokens)
    train_tokens, train_labels, _ = lesson07.recall_data("train")
    assert len(train_tokens) == lesson07.N_TRAIN and not torch.equal(train_tokens[:5], tokens[:5])
    batches = lesson07.recall_batches(train_tokens[:150], train_labels[:150])
    sizes = [len(t) for t, _ in batches(0)]
    assert sizes == [64, 64, 22]
    first = next(iter(batches(0)))[0]
    assert torch.equal(first, next(iter(batches(0)))[0])  # the epoch decides the order
    assert not torch.equal(first, next(iter(batches(1)))[0])
