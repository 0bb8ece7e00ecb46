"""Tests of course_lib.data.toys: the lesson-01 kernel-regression problem, and the order and
long-range toy tasks (deterministic, balanced, and built as documented)."""

import pytest
import torch

from course_lib.data.toys import (
    A_ID,
    B_ID,
    IGNORE,
    KernelRegressionData,
    RecallConfig,
    kernel_regression_data,
    order_task,
    recall_task,
    target_function,
)


def test_shapes_dtypes_and_ranges():
    data = kernel_regression_data(n_train=40, n_test=30, x_max=4.0, seed=1)
    assert isinstance(data, KernelRegressionData)
    assert data.x_train.shape == data.y_train.shape == (40,)
    assert data.x_test.shape == data.y_test.shape == (30,)
    for t in (data.x_train, data.y_train, data.x_test, data.y_test):
        assert t.dtype == torch.float32
    assert torch.all(data.x_train[1:] >= data.x_train[:-1]), "training inputs are sorted"
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 4.0
    assert float(data.x_test[0]) == 0.0 and float(data.x_test[-1]) == pytest.approx(4.0)


def test_same_seed_same_data_other_seed_other_data():
    a, b = kernel_regression_data(seed=3), kernel_regression_data(seed=3)
    c = kernel_regression_data(seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.x_train, c.x_train)


def test_does_not_touch_global_rng():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    kernel_regression_data(seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_targets_follow_the_true_curve():
    clean = kernel_regression_data(noise=0.0, seed=2)
    assert torch.allclose(clean.y_train, target_function(clean.x_train))
    assert torch.allclose(clean.y_test, target_function(clean.x_test))
    noisy = kernel_regression_data(n_train=2000, noise=0.5, seed=2)
    residual = noisy.y_train - target_function(noisy.x_train)
    assert residual.std().item() == pytest.approx(0.5, rel=0.1)


def test_target_function_values():
    x = torch.tensor([0.0, 1.0])
    expected = torch.tensor([0.0, 2 * torch.sin(torch.tensor(1.0)).item() + 1.0])
    assert torch.allclose(target_function(x), expected)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_train": 0}, "n_train"),
        ({"n_train": 2.5}, "n_train"),
        ({"n_train": True}, "n_train"),
        ({"n_test": -1}, "n_test"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"x_max": 0.0}, "x_max"),
        ({"x_max": float("inf")}, "x_max"),
        ({"x_max": "5"}, "x_max"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        kernel_regression_data(**kwargs)


def test_non_int_seed_is_a_type_error():
    with pytest.raises(TypeError, match="^seed: expected an int, got float"):
        kernel_regression_data(seed=1.5)


def test_order_task_twins_hold_the_same_tokens_with_opposite_labels():
    tokens, labels = order_task(200, length=10, vocab=9, seed=3)
    assert tokens.shape == (400, 10) and labels.shape == (400,)
    assert torch.equal(tokens, order_task(200, length=10, vocab=9, seed=3)[0])
    assert not torch.equal(tokens, order_task(200, length=10, vocab=9, seed=4)[0])
    assert ((tokens == A_ID).sum(1) == 1).all() and ((tokens == B_ID).sum(1) == 1).all()
    a_pos, b_pos = (tokens == A_ID).int().argmax(1), (tokens == B_ID).int().argmax(1)
    assert torch.equal(labels, (a_pos < b_pos).long())
    first, twin = tokens[0::2], tokens[1::2]
    assert torch.equal(first.sort(1).values, twin.sort(1).values)  # same bag of tokens
    assert torch.equal(labels[0::2], 1 - labels[1::2])
    assert int(tokens.max()) < 9


def test_recall_task_labels_the_marked_symbol_after_it():
    config = RecallConfig(length=20, n_symbols=5)
    tokens, labels, distances = recall_task(500, config, seed=1)
    assert tokens.shape == labels.shape == distances.shape == (500, 20)
    assert torch.equal(tokens, recall_task(500, config, seed=1)[0])
    is_marked = tokens >= 5
    assert (is_marked.sum(1) == 1).all() and int(tokens.max()) < config.vocab == 10
    marked = is_marked.int().argmax(1)  # (500,)
    symbol = tokens[torch.arange(500), marked] - 5
    positions = torch.arange(20)[None]
    after = positions > marked[:, None]
    assert torch.equal(labels[after], symbol[:, None].expand(-1, 20)[after])
    assert (labels[~after] == IGNORE).all() and (distances[~after] == -1).all()
    assert torch.equal(distances[after], (positions - marked[:, None])[after])
    assert distances.max() == 19


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="length"):
        RecallConfig(length=1)
    with pytest.raises(ValueError, match="vocab"):
        order_task(5, vocab=3)
    with pytest.raises(ValueError, match="n_pairs"):
        order_task(0)
