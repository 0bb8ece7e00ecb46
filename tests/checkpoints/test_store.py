"""The checkpoint store: weights beside their record, one load for every lesson, a missing
file that names the command making it."""

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from course_lib.checkpoints import store


@dataclass(frozen=True)
class Data:
    size: int = 3


@pytest.fixture
def weights(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "WEIGHTS_DIR", tmp_path / "weights")
    return tmp_path / "weights"


def test_write_then_read_gives_the_weights_and_the_record(weights):
    model = nn.Linear(3, 2)
    store.write(store.path("04", "m"), model, {"seconds": 1.5, "data_config": {"size": 3}})
    saved = store.read("04", "m")
    assert (weights / "04_m.pt").exists()  # folders are created
    assert torch.equal(saved["state_dict"]["weight"], model.weight)
    assert store.record(saved) == {"seconds": 1.5, "data_config": {"size": 3}}
    store.check_config(saved, "data_config", Data(3))
    with pytest.raises(ValueError, match="data_config: the checkpoint was made with"):
        store.check_config(saved, "data_config", Data(4))


def test_a_record_of_curves_has_no_weights(weights):
    store.write(store.path("03", "curves"), None, store.make_record(None, 2.0, runs={"a": [1.0]}))
    saved = store.read("03", "curves")
    assert "state_dict" not in saved and "parameters" not in saved
    assert saved["runs"] == {"a": [1.0]} and saved["seconds"] == 2.0
    assert saved["torch"] == str(torch.__version__) and isinstance(saved["torch"], str)


def test_make_record_turns_configs_into_dicts_and_counts_parameters():
    info = store.make_record(nn.Linear(3, 2), 1.234, data_config=Data(5), kind="x")
    assert info["data_config"] == {"size": 5} and info["kind"] == "x"
    assert info["parameters"] == 8 and info["seconds"] == 1.2
    assert info["threads"] == torch.get_num_threads()


def test_a_missing_file_names_the_command_that_makes_it(weights):
    with pytest.raises(FileNotFoundError, match=r"python -m course_lib.checkpoints 04 vit"):
        store.read("04", "vit")
    with pytest.raises(ValueError, match="lesson: expected one of"):
        store.path("99", "vit")


def test_load_reads_or_retrains_and_says_which(weights):
    trained = nn.Linear(2, 2)

    def build(name, saved=None):
        return nn.Linear(2, 2)

    def train(name):
        return trained, {"name": name}

    store.write(store.path("05", "lin"), trained, {"name": "lin"})
    model, info = store.load("05", ("lin",), "lin", build, train)
    assert info == {"name": "lin", "source": "checkpoint"} and not model.training
    assert torch.equal(model.weight, trained.weight) and model is not trained
    model, info = store.load("05", ("lin",), "lin", build, train, retrain=True)
    assert model is trained and info["source"] == "trained now"
    with pytest.raises(ValueError, match="name: expected one of"):
        store.load("05", ("lin",), "conv", build, train)


def test_history_of_and_check_name():
    history = store.history_of({"history": {"loss": [2.0, 1.0], "metric": [0.5, 0.9]}})
    assert history.loss == [2.0, 1.0] and history.metric == [0.5, 0.9]
    assert store.check_name("a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"name: expected one of \('a', 'b'\), got 'c'"):
        store.check_name("c", ("a", "b"))


@pytest.mark.parametrize("lesson", ["02", "03", "04", "05"])
def test_every_lesson_module_has_the_same_api(lesson):
    import importlib

    module = importlib.import_module(f"course_lib.checkpoints.lesson{lesson}")
    assert module.LESSON == lesson and module.NAMES
    for name in module.NAMES:
        assert store.path(lesson, name).exists(), name  # every checkpoint is committed
    for attr in ("build", "train", "load"):
        assert callable(getattr(module, attr))
    with pytest.raises(ValueError, match="name: expected one of"):
        module.load("no_such_model")


def test_the_command_line_refuses_unknown_names(capsys):
    from course_lib.checkpoints.__main__ import main

    with pytest.raises(SystemExit):
        main(["04", "resnet"])
    assert "unknown ['resnet']" in capsys.readouterr().err
