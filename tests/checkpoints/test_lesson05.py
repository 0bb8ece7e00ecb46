"""Lesson 05's checkpoints: present, small, loadable, same-size RAM and CNN, and the script's
training function runs."""

import pytest
import torch

import course_lib.checkpoints.lesson05 as rw
from course_lib.checkpoints import store
from course_lib.hard.ram import RAM
from course_lib.train.utils import count_parameters
from course_lib.vision.convnets import ConvNet


@pytest.mark.parametrize("name", rw.NAMES)
def test_checkpoint_loads_and_is_small(name):
    path = store.path("05", name)
    assert path.exists() and path.stat().st_size < 1_000_000
    model, info = rw.load(name)
    assert isinstance(model, RAM if name.startswith("ram") else ConvNet)
    assert not model.training and info["name"] == name and info["source"] == "checkpoint"
    assert info["parameters"] == count_parameters(model)
    assert 0 <= info["test_error"] < 0.5
    assert info["history"]["eval_steps"][-1] == info["train_config"]["steps"]


def test_cnn_matches_the_ram_size():
    ram, cnn = rw.build("ram_translated"), rw.build("cnn_translated")
    assert abs(count_parameters(cnn) - count_parameters(ram)) / count_parameters(ram) < 0.02


def test_compact_averages_blocks():
    history = {"records": {"reward": [0.0, 1.0, 1.0, 1.0, 0.5]}, "eval_steps": [5]}
    out = rw.compact(history, every=2)
    assert out["record_every"] == 2 and out["records"]["reward"] == [0.5, 1.0, 0.5]
    assert rw.compact(out, every=2) is out  # already compact


@pytest.mark.parametrize("name", ["ram_cluttered", "cnn_translated"])
def test_training_runs_a_few_steps(name, monkeypatch):
    import dataclasses

    monkeypatch.setattr(rw, "RAM_TRAIN", dataclasses.replace(rw.RAM_TRAIN, steps=3, warmup=1))
    monkeypatch.setattr(rw, "CNN_TRAIN", dataclasses.replace(rw.CNN_TRAIN, steps=3, warmup=1))
    monkeypatch.setattr(rw, "RECORD_EVERY", 2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, info = rw.load(name, retrain=True)
    finally:
        torch.set_num_threads(threads)
    history = info["history"]  # the same layout for the RAM and the CNN
    assert info["source"] == "trained now" and info["train_config"]["steps"] == 3
    assert history["eval_steps"] == [3] and len(history["eval_metric"]) == 1
    assert history["record_every"] == 2 and len(history["records"]["reward"]) == 2
    assert all(0 <= r <= 1 for r in history["records"]["reward"])
    with pytest.raises(ValueError, match="name"):
        rw.load("ram_rotated")


@pytest.mark.parametrize("name", rw.NAMES)
def test_each_checkpoint_was_made_with_the_modules_current_configs(name):
    """A RAM checkpoint of 6 glimpses would load into an 8-glimpse model without complaint:
    the record must say the checkpoint was trained with today's configs."""
    import dataclasses

    _, info = rw.load(name)
    kind = name.split("_")[0]
    model_config = rw.RAM_CONFIG if kind == "ram" else rw.cnn_config()
    train_config = rw.RAM_TRAIN if kind == "ram" else rw.CNN_TRAIN
    assert info["model_config"] == dataclasses.asdict(model_config)
    assert info["train_config"] == dataclasses.asdict(train_config)
