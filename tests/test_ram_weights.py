"""Lesson 05's checkpoints: present, small, loadable, same-size RAM and CNN, and the script's
training function runs."""

import pytest
import torch

import course_lib.ram_weights as rw
from course_lib.ram import RAM
from course_lib.vision import ConvNet, count_parameters


@pytest.mark.parametrize("name", rw.NAMES)
def test_checkpoint_loads_and_is_small(name):
    path = rw.checkpoint_path(name)
    assert path.exists() and path.stat().st_size < 1_000_000
    model, info = rw.load(name)
    assert isinstance(model, RAM if name.startswith("ram") else ConvNet)
    assert not model.training and info["name"] == name
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


def test_training_runs_a_few_steps(monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, info = rw.train("ram_cluttered", steps=3)
    finally:
        torch.set_num_threads(threads)
    assert info["history"]["eval_steps"] == [3] and len(info["history"]["records"]["reward"]) == 3
    with pytest.raises(ValueError, match="name"):
        rw.checkpoint_path("ram_rotated")
