"""Lesson 03's shipped checkpoints load, match their configs and do what the lesson says."""

import pytest

from course_lib.checkpoints import lesson03
from course_lib.data.toys import IGNORE
from course_lib.data.translation import TranslationConfig, model_exact_match
from course_lib.train.utils import count_parameters


def test_translation_checkpoint_loads_and_translates(data):
    model, info = lesson03.load("translation_transformer")
    assert info["source"] == "checkpoint" and not model.training
    assert info["parameters"] == count_parameters(model)
    assert len(info["history"]["loss"]) == info["train_config"]["steps"]["steps"]
    pairs = data.test[:90]
    assert model_exact_match(model, pairs, data) > 0.95


def test_recall_checkpoints_show_the_reach_of_each_architecture():
    tokens, labels, distances = lesson03.recall_data("test")
    tokens, labels, distances = tokens[:300], labels[:300], distances[:300]
    near, far = (labels != IGNORE) & (distances <= 4), (labels != IGNORE) & (distances > 12)
    sizes = {}
    for kind in lesson03.RECALL_KINDS:
        model, info = lesson03.load(f"recall_{kind}")
        assert info["source"] == "checkpoint" and info["kind"] == kind
        sizes[kind] = count_parameters(model)
        correct = lesson03.predict(model, tokens) == labels
        assert correct[near].float().mean() > 0.95, kind
        far_accuracy = correct[far].float().mean()
        if kind == "cnn":
            assert far_accuracy < 0.3  # chance is 1/8: it cannot see that far
        else:
            assert far_accuracy > 0.95, kind
    assert max(sizes.values()) / min(sizes.values()) < 1.3


def test_checkpoints_refuse_other_data_and_unknown_kinds(monkeypatch):
    monkeypatch.setattr(lesson03, "DATA", TranslationConfig(n_train=1, n_val=1, n_test=1, n_long=1))
    with pytest.raises(ValueError, match="data_config: the checkpoint was made with"):
        lesson03.load("translation_transformer")
    with pytest.raises(ValueError, match="name: expected one of"):
        lesson03.load("recall_lstm")
    with pytest.raises(ValueError, match="split"):
        lesson03.recall_data("dev")


def test_stability_curves_match_their_runs_and_show_each_lever():
    nothing, saved = lesson03.load("stability_curves")
    runs = saved["runs"]
    assert nothing is None and set(runs) == set(lesson03.STABILITY_RUNS)
    assert saved["source"] == "checkpoint"
    for name, run in lesson03.STABILITY_RUNS.items():
        assert len(runs[name]["loss"]) == run.steps.steps
    assert (
        runs["warm-up: none"]["metric"][-1] < 0.3 < 0.8 < runs["warm-up: 100 steps"]["metric"][-1]
    )
    assert runs["clipping: none"]["loss"][-1] > 10 * runs["clipping: norm 1"]["loss"][-1]
    assert max(runs["clipping: norm 1"]["grad_norm"]) < max(runs["clipping: none"]["grad_norm"])
    drop, no_drop = runs["attention dropout: 0.3"], runs["attention dropout: 0"]
    assert drop["metric"][-1] < no_drop["metric"][-1]  # validation loss
    with pytest.raises(ValueError, match="task"):
        lesson03.run_stability(lesson03.StabilityRun("sorting", 1, lesson03.StepConfig(steps=1)))


def test_a_stability_run_can_be_repeated_from_another_seed():
    run = lesson03.StabilityRun("noisy_order", 1, lesson03.StepConfig(steps=3))
    first, again = lesson03.run_stability(run, seed=0), lesson03.run_stability(run, seed=0)
    other = lesson03.run_stability(run, seed=1)
    assert first["loss"] == again["loss"] and first["loss"] != other["loss"]
    with pytest.raises(TypeError, match="seed"):
        lesson03.run_stability(run, seed="1")
