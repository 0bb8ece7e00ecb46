"""course_lib.mine: a lesson runs the learner's own passing answer, and says so."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch

from course_lib import mine
from course_lib.core import masks
from course_lib.core.attention import attention

COURSE_DIR = Path(__file__).resolve().parents[1]

# Right, but not the course's way: no softmax call, the maximum taken over allowed keys only.
DIFFERENT_BUT_CORRECT = """def masked_softmax(scores, mask):
    top = scores.masked_fill(~mask, float("-inf")).amax(-1, keepdim=True)  # (..., q, 1)
    shifted = (scores - top.nan_to_num(0.0, neginf=0.0)).masked_fill(~mask, float("-inf"))
    e = shifted.exp()  # masked keys: exp(-inf) = 0
    total = e.sum(-1, keepdim=True)
    return torch.where(total > 0, e / total.clamp_min(1e-30), torch.zeros_like(e))
"""
WRONG = """def masked_softmax(scores, mask):
    return torch.softmax(scores, dim=-1)  # forgets the mask
"""


# Grad-CAM's weighting, right but written with einsum and a sum / count instead of mean
GRADCAM_DIFFERENT = """def gradcam_map(activations, gradients):
    if gradients.shape != activations.shape:
        raise ValueError("gradients: expected the shape of activations")
    h, w = activations.shape[-2:]
    weights = gradients.sum(dim=(2, 3)) / (h * w)
    cam = torch.einsum("bk,bkij->bij", weights, activations).clamp_min(0.0)
    return weights, cam
"""

# Integrated gradients, right but walking the path backwards and averaging a stack of gradients
IG_DIFFERENT = """def integrated_gradients(f, x, baseline, steps=50):
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    grads = []
    for i in reversed(range(steps)):
        point = (x - (1 - (i + 0.5) / steps) * (x - baseline)).detach().requires_grad_()
        grads.append(torch.autograd.grad(f(point).sum(), point)[0])
    return (x - baseline) * torch.stack(grads).mean(0)
"""


def write_answer(folder: Path, source: str, exercise: str = "01_masked_softmax") -> Path:
    nb = json.loads((COURSE_DIR / "exercises" / f"{exercise}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = source
    path = folder / f"{exercise}.ipynb"
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture
def batch():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 3)
    return q, k, v, torch.rand(2, 5, 6) > 0.3


def test_offered_are_exercise_answers_with_a_course_function_of_that_name():
    table = mine.offered()
    assert {"masked_softmax", "affine_grid", "attention_rollout", "tiled_attention"} <= set(table)
    assert table["gradcam_map"] == ("06_gradcam_map", "course_lib.explain.gradcam.gradcam_map")
    stand_ins = {"integrated_gradients": "course_lib.explain.saliency.path_integrated_gradients"}
    for name, (exercise, dotted) in table.items():
        assert (COURSE_DIR / "solutions" / f"{exercise}.ipynb").exists()
        assert dotted.startswith("course_lib.")
        assert dotted.endswith(f".{name}") or stand_ins[name] == dotted
    assert table["integrated_gradients"] == (
        "06_integrated_gradients",
        stand_ins["integrated_gradients"],
    )
    assert "exact_match" not in table  # the exercise's arguments differ from the course's


def test_without_a_notebook_the_course_function_runs_and_says_why(tmp_path, batch):
    chosen = mine.implementation("masked_softmax", tmp_path)
    assert not chosen.yours and chosen.function is masks.masked_softmax
    assert "no " in chosen.why and "01_masked_softmax" in chosen.why
    assert str(chosen).startswith("masked_softmax: the course's")
    with mine.using("masked_softmax", folder=tmp_path) as (used,):
        attention(*batch)
    assert used.calls == {"yours": 0, "course": 1}


def test_a_different_but_correct_answer_is_the_one_that_runs(tmp_path, batch, monkeypatch, capsys):
    write_answer(tmp_path, DIFFERENT_BUT_CORRECT)
    chosen = mine.implementation("masked_softmax", tmp_path)
    assert chosen.yours and "passes the grader, 5/5" in chosen.why
    assert chosen.function.__code__.co_filename.startswith("<your answer")
    q, k, v, mask = batch
    expected = attention(q, k, v, mask)
    with mine.using("masked_softmax", folder=tmp_path) as (used,):
        assert masks.masked_softmax is not chosen.function  # wrapped, counting its calls
        got = attention(q, k, v, mask)  # the course's attention calls the learner's softmax
    assert used.calls == {"yours": 1, "course": 0}
    with mine.using("masked_softmax", folder=tmp_path) as (used,):
        attention(q, k, v)  # no mask: the learner's function requires one, the course's runs
        masks.masked_softmax(torch.randn(3, 4), dim=0)  # an argument the learner's lacks
    assert used.calls == {"yours": 0, "course": 2}
    assert "masked_softmax: yours" in capsys.readouterr().out
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e)
    assert attention.__globals__["masked_softmax"] is masks.masked_softmax  # restored
    monkeypatch.setenv(mine.ENV_VAR, str(tmp_path))
    from course_lib.mine import masked_softmax  # the import a lesson writes

    assert masked_softmax.__code__.co_filename.startswith("<your answer")


def test_a_wrong_answer_is_not_used_and_the_reason_names_the_score(tmp_path):
    write_answer(tmp_path, WRONG)
    chosen = mine.implementation("masked_softmax", tmp_path)
    assert not chosen.yours and chosen.function is masks.masked_softmax
    assert "scores 0/5" in chosen.why and "course-grade" in chosen.why


def test_the_grade_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    path = write_answer(tmp_path, DIFFERENT_BUT_CORRECT)
    runs = []
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        runs.append(args)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(mine.subprocess, "run", counting_run)
    assert mine.grade(path)["score"] == 5.0
    assert mine.grade(path)["score"] == 5.0 and len(runs) == 1
    write_answer(tmp_path, WRONG)
    assert mine.grade(path)["score"] == 0.0 and len(runs) == 2


def test_an_unknown_name_is_refused_with_the_names_on_offer():
    with pytest.raises(
        AttributeError, match="no exercise answer called 'softmaxx'.*masked_softmax"
    ):
        mine.implementation("softmaxx")


def test_the_learners_gradcam_weighting_runs_inside_the_course_gradcam(tmp_path):
    from course_lib.explain.gradcam import GradCAM

    write_answer(tmp_path, GRADCAM_DIFFERENT, "06_gradcam_map")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(4 * 8 * 8, 3),
    )  # fmt: skip
    images = torch.randn(2, 1, 8, 8)
    expected = GradCAM(model, model[1])(images)
    with mine.using("gradcam_map", folder=tmp_path) as (used,):
        got = GradCAM(model, model[1])(images)
    assert used.yours and used.calls == {"yours": 1, "course": 0}
    torch.testing.assert_close(got, expected)


def test_the_learners_integrated_gradients_runs_as_the_declared_stand_in(tmp_path):
    from course_lib.explain import saliency

    write_answer(tmp_path, IG_DIFFERENT, "06_integrated_gradients")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    x, target = torch.randn(4, 5), torch.tensor([0, 2, 1, 2])
    expected = saliency.integrated_gradients(model, x, target, steps=8)
    with mine.using("integrated_gradients", folder=tmp_path) as (used,):
        got = saliency.integrated_gradients(model, x, target, steps=8)  # the model-level API
        saliency.integrated_gradients(model, x, target, steps=8, rule="trapezoid")  # not theirs
    assert used.yours and used.calls == {"yours": 1, "course": 1}
    torch.testing.assert_close(got, expected)
    assert saliency.path_integrated_gradients.__module__ == saliency.__name__  # restored
