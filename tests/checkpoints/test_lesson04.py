"""Lesson 04's checkpoints (course_lib.checkpoints.lesson04) load and are what they claim."""

import pytest
import torch

from course_lib.checkpoints import lesson04 as W
from course_lib.checkpoints import store
from course_lib.train.utils import count_parameters


@pytest.mark.parametrize("name", W.NAMES)
def test_checkpoint_loads_with_its_record(name):
    model, info = W.load(name)
    assert info["source"] == "checkpoint" and info["name"] == name
    assert info["parameters"] == count_parameters(model)
    history = store.history_of(info)
    assert (
        len(history.loss)
        == len(history.metric)
        == W.Recipe(
            **{**info["recipe"], "stages": tuple(map(tuple, info["recipe"]["stages"]))}
        ).epochs
    )
    assert not model.training
    assert store.path("04", name).stat().st_size < 2_000_000  # small files (the captioner: 1.7 MB)


def test_checkpoints_are_small_in_all():
    # a clone stays light: 13 checkpoints, the widest (the captioner, 410k parameters) 1.7 MB
    assert sum(store.path("04", name).stat().st_size for name in W.NAMES) < 6_000_000


def test_matched_cnns_have_the_st_cnns_parameter_count():
    for variant in ("R", "RTS", "P", "E"):
        st, cnn = W.build(f"stn_{variant}"), W.build(f"cnn_{variant}")
        assert abs(count_parameters(cnn) - count_parameters(st)) / count_parameters(st) < 0.05


def test_models_run_on_their_inputs():
    torch.manual_seed(0)
    assert W.build("stn_RTS")(torch.rand(2, 1, 40, 40)).shape == (2, 10)
    assert W.build("vit")(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    tokens, maps = W.build("captioner").generate(torch.rand(2, 1, 64, 64))
    assert tokens.shape == (2, 4) and maps.shape == (2, 4, 8, 8)
    logits, boxes = W.build("detr")(torch.rand(2, 1, 64, 64))
    assert logits.shape == (2, 4, 11) and boxes.shape == (2, 4, 4)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="name"):
        W.load("stn_Q")
    with pytest.raises(ValueError, match="name"):
        W.build("resnet")


@pytest.mark.parametrize("name", W.NAMES)
def test_each_checkpoint_was_trained_with_its_specs_recipe(name):
    _, info = W.load(name)
    saved = {**info["recipe"], "stages": tuple(map(tuple, info["recipe"]["stages"]))}
    assert W.Recipe(**saved) == W.SPECS[name].recipe


def test_spatial_transformers_beat_the_same_size_cnn_beyond_noise():
    """The lesson's claim, on 10 distortions of each test digit, paired and grouped by digit:
    the affine ST-CNN on R, RTS and P and the thin-plate one on E make fewer mistakes than the
    CNN with as many parameters, by more than twice the difference's standard error."""
    from course_lib.train.stats import paired
    from course_lib.vision.convnets import mistakes

    for variant, st in (("R", "stn_R"), ("RTS", "stn_RTS"), ("P", "stn_P"), ("E", "stn_tps_E")):
        data, digit_of = W.test_draws(variant)
        wrong = {
            name: mistakes(W.load(name)[0], data.images, data.labels)
            for name in (st, f"cnn_{variant}")
        }
        comparison = paired(wrong[st], wrong[f"cnn_{variant}"], digit_of)
        assert comparison.z < -2, f"{variant}: {comparison}"
