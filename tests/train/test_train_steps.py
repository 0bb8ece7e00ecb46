"""Training by steps: the warm-up schedule, clipping and the per-step curves."""

import math

import pytest
import torch
from torch import nn

from course_lib.train.loops import StepConfig, train_steps
from course_lib.train.schedules import lr_factor


def test_train_steps_records_the_stats_a_loss_returns_and_takes_adam():
    data = [(torch.randn(8, 1), torch.randn(8))]

    def loss_fn(m, x, y):
        loss = ((m(x)[:, 0] - y) ** 2).mean()
        return loss, {"half": float(loss.detach()) / 2}

    config = StepConfig(steps=4, lr=0.1, optimizer="adam", betas=(0.9, 0.999))
    history = train_steps(nn.Linear(1, 1), loss_fn, lambda epoch: data, config)
    assert history.records["half"] == pytest.approx([v / 2 for v in history.loss])
    with pytest.raises(ValueError, match="optimizer"):
        StepConfig(optimizer="rmsprop")


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
        StepConfig(decay="exponential")
    with pytest.raises(ValueError, match="clip_grad"):
        StepConfig(clip_grad=0.0)
    with pytest.raises(ValueError, match="optimizer"):
        StepConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="evaluate"):
        train_steps(nn.Linear(1, 1), None, lambda e: [], StepConfig(steps=1), eval_every=5)
    with pytest.raises(ValueError, match="batches"):
        train_steps(nn.Linear(1, 1), None, lambda e: [], StepConfig(steps=1))
    assert math.isfinite(lr_factor(1, 10, decay="rsqrt"))
