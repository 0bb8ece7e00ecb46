"""Training by steps: the warm-up schedule, clipping and the per-step curves."""

import math

import pytest
import torch
from torch import nn

from course_lib.step_training import StepConfig, lr_factor, train_steps


def test_warmup_and_decay_schedules():
    c = StepConfig(steps=100, lr=1.0, warmup=10)
    assert [lr_factor(s, c) for s in (1, 5, 10, 50)] == [0.1, 0.5, 1.0, 1.0]
    r = StepConfig(steps=100, warmup=4, decay="rsqrt")
    assert lr_factor(2, r) == 0.5 and lr_factor(16, r) == pytest.approx(0.5)
    cos = StepConfig(steps=110, warmup=10, decay="cosine")
    assert lr_factor(10, cos) == pytest.approx(1.0) and lr_factor(110, cos) == pytest.approx(0.0)
    assert lr_factor(60, cos) == pytest.approx(0.5)
    assert lr_factor(1, StepConfig(steps=5)) == 1.0


def regression(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 1.0
    return [(x[i : i + 32], y[i : i + 32]) for i in range(0, 256, 32)]


def test_train_steps_learns_records_curves_and_clips():
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    data = regression()
    history = train_steps(
        model,
        lambda m, x, y: ((m(x)[:, 0] - y) ** 2).mean(),
        lambda epoch: data,
        StepConfig(steps=300, lr=0.05, warmup=20),
        evaluate=lambda m: 1.0,
        eval_every=100,
    )
    assert len(history.loss) == len(history.grad_norm) == len(history.lr) == 300
    assert history.loss[-1] < 0.01 * history.loss[0]
    assert history.lr[0] == pytest.approx(0.05 / 20) and history.lr[-1] == 0.05
    assert history.metric_steps == [100, 200, 300] and not model.training
    # clipping: the recorded norm is the one before clipping, the gradient used is clipped
    clipped = nn.Linear(4, 1)
    h = train_steps(
        clipped,
        lambda m, x, y: 1e3 * ((m(x)[:, 0] - y) ** 2).mean(),
        lambda epoch: data[:1],
        StepConfig(steps=2, lr=0.1, clip_grad=0.5),
    )
    used = torch.cat([p.grad.flatten() for p in clipped.parameters()]).norm()
    assert h.grad_norm[-1] > 10.0 and used == pytest.approx(0.5, rel=1e-4)
    # plain SGD with momentum learns too
    sgd = nn.Linear(4, 1)
    h = train_steps(
        sgd,
        lambda m, x, y: ((m(x)[:, 0] - y) ** 2).mean(),
        lambda epoch: data,
        StepConfig(steps=200, lr=0.02, optimizer="sgd"),
    )
    assert h.loss[-1] < 0.01 * h.loss[0]


def test_bad_configs():
    with pytest.raises(ValueError, match="steps"):
        StepConfig(steps=0)
    with pytest.raises(ValueError, match="decay"):
        StepConfig(decay="linear")
    with pytest.raises(ValueError, match="clip_grad"):
        StepConfig(clip_grad=0.0)
    with pytest.raises(ValueError, match="optimizer"):
        StepConfig(optimizer="adam")
    with pytest.raises(ValueError, match="evaluate"):
        train_steps(nn.Linear(1, 1), None, lambda e: [], StepConfig(steps=1), eval_every=5)
    with pytest.raises(ValueError, match="batches"):
        train_steps(nn.Linear(1, 1), None, lambda e: [], StepConfig(steps=1))
    assert math.isfinite(lr_factor(1, StepConfig(decay="rsqrt")))
