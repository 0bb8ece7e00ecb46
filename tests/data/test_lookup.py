import pytest
import torch

from course_lib.data.lookup import IGNORE, LookupConfig, lookup_table, lookup_task


def test_shapes_dtypes_and_ranges():
    c = LookupConfig(n_symbols=10, n_classes=4, length=6)
    tokens, labels = lookup_task(50, c, seed=3)
    assert tokens.shape == labels.shape == (50, 6)
    assert tokens.dtype == labels.dtype == torch.int64
    assert 0 <= int(tokens.min()) and int(tokens.max()) < 10
    assert (labels[:, 0] == IGNORE).all()
    assert 0 <= int(labels[:, 1:].min()) and int(labels[:, 1:].max()) < 4


def test_labels_are_the_table_entry_of_each_bigram():
    c = LookupConfig(n_symbols=7, n_classes=5, length=5, table_seed=2)
    table = lookup_table(c)
    assert table.shape == (7, 7) and c.table_size == 49
    tokens, labels = lookup_task(20, c, seed=1)
    for row in range(20):
        for t in range(1, 5):
            assert labels[row, t] == table[tokens[row, t - 1], tokens[row, t]]


def test_seeds_are_reproducible_and_independent():
    c = LookupConfig()
    a, b = lookup_task(30, c, seed=0), lookup_task(30, c, seed=0)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], lookup_task(30, c, seed=1)[0])
    # the table depends on table_seed only, never on the sequences' seed
    assert torch.equal(lookup_table(c), lookup_table(LookupConfig()))
    assert not torch.equal(lookup_table(c), lookup_table(LookupConfig(table_seed=1)))


def test_default_size_is_the_documented_one():
    c = LookupConfig()
    assert (c.n_symbols, c.n_classes, c.length, c.table_size) == (48, 16, 8, 2304)
    counts = torch.bincount(lookup_table(c).flatten(), minlength=16)
    assert counts.min() > 100  # every class is used, roughly uniformly (2304 / 16 = 144)


def test_zipf_frequencies():
    c = LookupConfig(n_symbols=6, zipf=1.0)
    probs = c.symbol_probs()
    assert probs.sum().item() == pytest.approx(1.0)
    assert probs[0] / probs[1] == pytest.approx(2.0) and probs[0] / probs[5] == pytest.approx(6.0)
    tokens, labels = lookup_task(4000, c, seed=0)
    freq = torch.bincount(tokens.flatten(), minlength=6).double() / tokens.numel()
    assert torch.allclose(freq, probs, atol=0.01)
    table = lookup_table(c)
    assert torch.equal(labels[:, 1:], table[tokens[:, :-1], tokens[:, 1:]])
    assert torch.allclose(
        LookupConfig(n_symbols=6).symbol_probs(), torch.full((6,), 1 / 6).double()
    )


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_symbols": 1}, "n_symbols"),
        ({"n_classes": 1}, "n_classes"),
        ({"length": 1}, "length"),
        ({"n_symbols": 2.5}, "n_symbols"),
        ({"zipf": -1.0}, "zipf"),
        ({"zipf": float("nan")}, "zipf"),
    ],
)
def test_bad_config_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LookupConfig(**kwargs)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="n:"):
        lookup_task(0)
    with pytest.raises(TypeError, match="seed"):
        lookup_task(3, seed=1.5)
    with pytest.raises(TypeError, match="table_seed"):
        LookupConfig(table_seed="0")
