"""Lesson 02's shipped checkpoints load, match their configs and translate well."""

import pytest
import torch

from course_lib import pretrained
from course_lib.data.translation import TranslationConfig, make_translation_data
from course_lib.seq2seq import count_parameters, exact_match, translate


@pytest.fixture(scope="module")
def data():
    return make_translation_data(TranslationConfig())


def test_checkpoints_load_at_equal_size_and_translate(data):
    torch.set_num_threads(1)
    sizes = {}
    pairs = data.test[:90]
    for kind in pretrained.TRANSLATION_KINDS:
        model, info = pretrained.load_translation_model(kind, data)
        assert info["source"] == "checkpoint" and info["kind"] == kind
        assert model.config.attention == kind and not model.training
        assert len(info["history"]["loss"]) == sum(e for e, _ in pretrained.TRAIN.stages)
        sizes[kind] = count_parameters(model)
        score = exact_match(translate(model, pairs, data)[0], pairs)
        if kind != "none":
            assert score > 0.95, (kind, score)
    assert max(sizes.values()) / min(sizes.values()) < 1.02


def test_checkpoint_refuses_other_data_and_unknown_kinds():
    small = make_translation_data(TranslationConfig(n_train=1, n_val=1, n_test=1, n_long=1))
    with pytest.raises(ValueError, match="data: the checkpoint was trained on"):
        pretrained.load_translation_model("additive", small)
    with pytest.raises(ValueError, match="kind: expected one of"):
        pretrained.checkpoint_path("dot")


def test_retrain_trains_the_same_architecture_without_touching_the_files(monkeypatch):
    torch.set_num_threads(1)
    tiny = make_translation_data(
        TranslationConfig(
            languages=("en",), max_items=1, max_digits=1, n_train=8, n_val=2, n_test=0, n_long=0
        )
    )
    monkeypatch.setattr(pretrained, "TRAIN", pretrained.TrainConfig(stages=((2, 1e-2),), n_val=2))
    before = pretrained.checkpoint_path("general").stat().st_mtime
    model, info = pretrained.load_translation_model("general", tiny, retrain=True)
    assert info["source"] == "trained now" and len(info["history"]["loss"]) == 2
    assert model.config == pretrained.translation_config("general", tiny)
    assert pretrained.checkpoint_path("general").stat().st_mtime == before
