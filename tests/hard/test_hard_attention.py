"""Soft vs hard attention over windows: the windows are the right crops, soft weights blend,
the hard choice carries no gradient, and a short run learns where to look."""

import pytest
import torch

from course_lib.data.canvases import PlacementConfig, placed_split
from course_lib.hard.hard_attention import WindowAttention, WindowConfig, window_metrics, windows
from course_lib.hard.policy_training import PolicyTrainConfig, train_policy
from course_lib.hard.reinforce import PolicyGradient, categorical_log_prob

GRID = PlacementConfig(size=60, grid=3)


pytestmark = pytest.mark.usefixtures("one_thread")  # many tiny tensor ops


def test_windows_are_the_grid_crops():
    x = torch.rand(2, 1, 60, 60)
    wins = windows(x)
    assert wins.shape == (2, 9, 28, 28)
    torch.testing.assert_close(wins[:, 5], x[:, 0, 16:44, 32:60])  # row 1, col 2
    with pytest.raises(ValueError, match="images"):
        windows(torch.rand(2, 1, 56, 56))


def test_the_digit_is_in_its_cell_window():
    data = placed_split("test", GRID, limit=20)
    wins = windows(data.images[:, None])
    ink = wins.sum(dim=(2, 3))  # (n, 9)
    assert ink.argmax(-1).equal(data.cells)


def test_soft_blends_and_hard_samples_an_integer():
    torch.manual_seed(0)
    x, y = torch.rand(4, 1, 60, 60), torch.randint(10, (4,))
    soft = WindowAttention("soft")
    out = soft(x)
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(4))
    assert out.log_prob is None
    hard = WindowAttention("hard")
    out = hard(x, generator=torch.Generator().manual_seed(0))
    assert out.choice.dtype == torch.int64 and not out.choice.requires_grad
    torch.testing.assert_close(out.log_prob, categorical_log_prob(out.scores, out.choice))
    # no gradient path from the classifier's loss to the scorer through the sample ...
    cls = torch.nn.functional.cross_entropy(out.logits, y)
    assert all(
        g is None
        for g in torch.autograd.grad(
            cls, list(hard.scorer.parameters()), allow_unused=True, retain_graph=True
        )
    )
    # ... while the soft blend has one
    soft_cls = torch.nn.functional.cross_entropy(soft(x).logits, y)
    assert all(g is not None for g in torch.autograd.grad(soft_cls, list(soft.scorer.parameters())))
    loss, stats = hard.loss(x, y, PolicyGradient("learned"))
    assert loss.requires_grad and set(stats) == {"reward", "classification", "entropy"}
    assert hard.per_window_logits(x).shape == (4, 9, 10)


def test_config_errors():
    with pytest.raises(ValueError, match="mode"):
        WindowAttention("medium")
    with pytest.raises(ValueError, match="coarse"):
        WindowConfig(coarse=5)
    with pytest.raises(ValueError, match="temperature"):
        WindowConfig(temperature=0)


def test_short_hard_attention_run_learns_where_to_look():
    train = placed_split("train", GRID, limit=1000)
    test = placed_split("test", GRID, limit=300)
    torch.manual_seed(0)
    model = WindowAttention("hard")
    before = window_metrics(model, test.images, test.labels, test.cells)
    train_policy(
        model,
        lambda e: train.batches(32, shuffle=True, seed=e),
        PolicyTrainConfig(steps=100, lr=3e-3),
    )
    after = window_metrics(model, test.images, test.labels, test.cells)
    assert after["where"] > 0.95 and after["where"] > before["where"]
    assert after["error"] < before["error"] - 0.3
