"""Lesson 02's shipped checkpoints load, match their configs and translate well."""

import pytest
import torch

from course_lib.checkpoints import lesson02, store
from course_lib.data.translation import TranslationConfig, make_translation_data, model_exact_match
from course_lib.train.utils import count_parameters


def test_checkpoints_load_at_equal_size_and_translate(data):
    torch.set_num_threads(1)
    sizes = {}
    pairs = data.test[:90]
    for kind in lesson02.KINDS:
        model, info = lesson02.load(f"translation_{kind}")
        assert info["source"] == "checkpoint" and info["kind"] == kind
        assert model.config.attention == kind and not model.training
        history = store.history_of(info)
        assert len(history.loss) == len(history.metric) == sum(e for e, _ in lesson02.TRAIN.stages)
        sizes[kind] = count_parameters(model)
        score = model_exact_match(model, pairs, data)
        if kind != "none":
            assert score > 0.95, (kind, score)
    assert max(sizes.values()) / min(sizes.values()) < 1.02


def test_checkpoint_refuses_other_data_and_unknown_names(monkeypatch):
    monkeypatch.setattr(lesson02, "DATA", TranslationConfig(n_train=1, n_val=1, n_test=1, n_long=1))
    with pytest.raises(ValueError, match="data_config: the checkpoint was made with"):
        lesson02.load("translation_additive")
    with pytest.raises(ValueError, match="name: expected one of"):
        lesson02.load("translation_dot")


def test_retrain_trains_the_same_architecture_without_touching_the_files(monkeypatch):
    torch.set_num_threads(1)
    tiny = TranslationConfig(
        languages=("en",), max_items=1, max_digits=1, n_train=8, n_val=2, n_test=0, n_long=0
    )
    monkeypatch.setattr(lesson02, "DATA", tiny)
    monkeypatch.setattr(lesson02, "TRAIN", lesson02.TrainConfig(stages=((2, 1e-2),), n_val=2))
    before = store.path("02", "translation_general").stat().st_mtime
    model, info = lesson02.load("translation_general", retrain=True)
    assert info["source"] == "trained now" and len(info["history"]["loss"]) == 2
    assert model.config == lesson02.translation_config("general", make_translation_data(tiny))
    assert info["parameters"] == count_parameters(model)
    assert store.path("02", "translation_general").stat().st_mtime == before
