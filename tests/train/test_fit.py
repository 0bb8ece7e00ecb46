"""The seeded training loop."""

import pytest
import torch

from course_lib.train.loops import fit, fit_stages
from course_lib.train.utils import seed_everything


def _problem():
    g = seed_everything(0)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return x, y


def _batches(x, y):
    return lambda epoch: ((x[i : i + 64], y[i : i + 64]) for i in range(0, len(x), 64))


def _loss(model, xb, yb):
    return torch.nn.functional.mse_loss(model(xb).squeeze(-1), yb)


def test_fit_learns_a_linear_map_better_than_the_mean():
    x, y = _problem()
    model = torch.nn.Linear(3, 1)
    history = fit(
        model,
        _loss,
        _batches(x, y),
        epochs=60,
        lr=0.05,
        seed=1,
        evaluate=lambda m: float(_loss(m, x, y)),
    )
    baseline = float(((y - y.mean()) ** 2).mean())
    assert history.loss[-1] < 0.01 * baseline
    assert len(history.metric) == 60 and history.metric[-1] < history.metric[0]


def test_fit_prints_a_final_summary_without_warnings(capsys, recwarn):
    x, y = _problem()
    fit(torch.nn.Linear(3, 1), _loss, _batches(x, y), epochs=2, desc="demo")
    assert capsys.readouterr().out.startswith("demo: 2 epochs, final loss ")
    assert not [w for w in recwarn if "requires_grad" in str(w.message)]


def test_fit_is_reproducible_with_a_seed():
    x, y = _problem()
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = torch.nn.Linear(3, 1)
        runs.append(fit(model, _loss, _batches(x, y), epochs=3, seed=7).loss)
    assert runs[0] == runs[1]


def test_fit_rejects_bad_arguments():
    model = torch.nn.Linear(3, 1)
    with pytest.raises(ValueError, match="epochs: expected a positive int"):
        fit(model, _loss, lambda epoch: [], epochs=0)
    with pytest.raises(ValueError, match="optimizer: expected 'adam' or 'sgd'"):
        fit(model, _loss, lambda epoch: [], epochs=1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="batches: yielded no batch"):
        fit(model, _loss, lambda epoch: [], epochs=1)
    with pytest.raises(TypeError, match="seed: expected an int"):
        seed_everything(1.5)


def test_batches_get_the_epoch_number_and_stages_number_on():
    x, y = _problem()
    seen = []

    def batches(epoch):
        seen.append(epoch)
        return [(x[:64], y[:64])]

    history = fit_stages(torch.nn.Linear(3, 1), _loss, batches, ((2, 0.05), (3, 0.01)))
    assert seen == [0, 1, 2, 3, 4] and len(history.loss) == 5
    with pytest.raises(ValueError, match="stages"):
        fit_stages(torch.nn.Linear(3, 1), _loss, batches, ())
    with pytest.raises(ValueError, match="batches: yielded no batch in epoch 0"):
        fit(torch.nn.Linear(3, 1), _loss, lambda epoch: [], epochs=1)
