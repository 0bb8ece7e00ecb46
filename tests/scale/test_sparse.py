"""Sparse attention patterns are what their papers define; block-sparse attention equals dense
masked attention while scoring only the non-empty tiles; a window model cannot see past its
reach, a global token can."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from course_lib.core.attention import attention
from course_lib.core.masks import local_window_mask
from course_lib.scale.sparse import (
    PATTERNS,
    SparseRecallConfig,
    SparseRecallModel,
    bigbird_mask,
    block_sparse_attention,
    density,
    expand_layout,
    global_mask,
    pattern_mask,
    random_block_mask,
    recall_loss,
    strided_mask,
    tile_layout,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def pairs(n):
    return torch.arange(n)[:, None], torch.arange(n)[None, :]  # i (n, 1), j (1, n)


class _LargestTensor(TorchDispatchMode):
    """The largest number of elements any floating-point output of an operation holds (the
    bool mask is (n, n) by nature; the question is the scores)."""

    def __init__(self) -> None:
        super().__init__()
        self.max_numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                self.max_numel = max(self.max_numel, t.numel())
        return out


# --------------------------------------------------------------------------- masks


def test_window_and_global_masks_follow_their_definitions():
    n, window = 12, 2
    i, j = pairs(n)
    band = (i - j).abs() <= window
    assert torch.equal(pattern_mask("window", n, window=window), band)
    glob = global_mask(n, window, n_global=2)
    assert glob.dtype == torch.bool and glob.shape == (n, n)
    assert glob[:2].all() and glob[:, :2].all()  # global tokens see and are seen by all
    assert torch.equal(glob[2:, 2:], band[2:, 2:])  # the rest is the band
    assert torch.equal(global_mask(n, window, 0), band)
    assert torch.equal(pattern_mask("window+global", n, window=window, n_global=2), glob)
    assert pattern_mask("dense", n).all()


def test_strided_mask_follows_the_sparse_transformer_rule():
    n, stride = 13, 3
    mask = strided_mask(n, stride)
    for i in range(n):
        for j in range(n):
            back = i - j
            expected = back >= 0 and (back < stride or back % stride == 0)
            assert mask[i, j].item() == expected, (i, j)
    assert torch.equal(pattern_mask("strided", 16), strided_mask(16, 4))  # stride ~ sqrt(n)
    assert torch.equal(pattern_mask("strided", 16, stride=5), strided_mask(16, 5))


def test_random_blocks_draw_n_random_blocks_per_block_row():
    n, block = 64, 8
    mask = random_block_mask(n, block, n_random=3, seed=4)
    layout = tile_layout(mask, block)
    assert (layout.sum(-1) == 3).all()  # 3 key blocks in every row of blocks
    assert torch.equal(expand_layout(layout, block), mask)  # whole tiles only
    assert torch.equal(mask, random_block_mask(n, block, 3, seed=4))  # the seed decides
    assert not torch.equal(mask, random_block_mask(n, block, 3, seed=5))
    assert not random_block_mask(n, block, 0).any()
    assert random_block_mask(n, block, n // block).all()


def test_bigbird_is_the_union_of_window_global_and_random_blocks():
    n, block, window = 64, 8, 3
    big = bigbird_mask(n, block, window, n_global=2, n_random=2, seed=1)
    parts = global_mask(n, window, 2) | random_block_mask(n, block, 2, seed=1)
    assert torch.equal(big, parts)
    assert (big & global_mask(n, window, 2)).equal(global_mask(n, window, 2))
    assert big.sum() > global_mask(n, window, 2).sum()  # the random blocks add pairs
    same = pattern_mask("bigbird", n, window=window, n_global=2, block=block, seed=1)
    assert torch.equal(same, big)


def test_density_counts_the_fraction_of_pairs():
    n, window = 16, 2
    assert density(pattern_mask("dense", n)) == 1.0
    band_pairs = n * (2 * window + 1) - window * (window + 1)  # the band, cut at the edges
    assert density(local_window_mask(n, window)) == pytest.approx(band_pairs / n**2)
    assert density(strided_mask(n, 1)) == pytest.approx((n * (n + 1) / 2) / n**2)  # causal
    assert density(global_mask(n, 0, 1)) == pytest.approx((3 * n - 2) / n**2)
    with pytest.raises(TypeError, match="mask: expected a torch.Tensor"):
        density([[True]])


def test_tile_layout_and_expand_layout_round_trip():
    layout = torch.rand(5, 5, generator=torch.Generator().manual_seed(0)) < 0.4
    mask = expand_layout(layout, 4)
    assert mask.shape == (20, 20)
    assert torch.equal(tile_layout(mask, 4), layout)
    assert mask[4 * 2 + 1, 4 * 3 + 2].item() == layout[2, 3].item()
    band = local_window_mask(32, 3)
    covered = expand_layout(tile_layout(band, 8), 8)
    assert (covered | ~band).all()  # every pair of the band lies in a kept tile
    assert torch.equal(tile_layout(band, 8).int().sum(-1), torch.tensor([2, 3, 3, 2]))


# --------------------------------------------------------------------------- block-sparse


@pytest.mark.parametrize("pattern", PATTERNS)
def test_block_sparse_attention_equals_dense_masked_attention(pattern):
    n, block = 256, 32
    mask = pattern_mask(pattern, n, block=block)
    q, k, v = torch.randn(3, 2, n, 16, generator=torch.Generator().manual_seed(2)).unbind(0)
    expected, _ = attention(q, k, v, mask=mask)
    with torch.no_grad(), _LargestTensor() as largest:
        out = block_sparse_attention(q, k, v, mask, block=block)
    assert out.shape == (2, n, 16)
    assert torch.allclose(out, expected, atol=1e-5)
    width = int(tile_layout(mask, block).sum(-1).max())
    assert largest.max_numel <= 2 * n * width * block  # scores of the kept tiles only
    if pattern in ("window", "strided"):  # no dense row of tiles: less than the (n, n) scores
        assert largest.max_numel < 2 * n * n


def test_block_sparse_attention_with_heads_equals_sdpa():
    n, block = 64, 16
    mask = pattern_mask("bigbird", n, window=4, n_global=1, block=block)
    q, k, v = torch.randn(3, 2, 3, n, 8, generator=torch.Generator().manual_seed(3)).unbind(0)
    out = block_sparse_attention(q, k, v, mask, block=block)
    assert out.shape == (2, 3, n, 8)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-5)


def test_block_sparse_attention_errors():
    q = k = v = torch.randn(1, 48, 4)
    with pytest.raises(ValueError, match="block: must divide n = 48, got 32"):
        block_sparse_attention(q, k, v, local_window_mask(48, 2), block=32)
    holey = local_window_mask(48, 2)
    holey[5] = False
    with pytest.raises(ValueError, match="mask: every query needs at least one key"):
        block_sparse_attention(q, k, v, holey, block=16)
    with pytest.raises(ValueError, match=r"mask: expected 2 dims \(n, n\)"):
        block_sparse_attention(q, k, v, local_window_mask(48, 2)[None], block=16)
    with pytest.raises(ValueError, match="q, k, v: expected 32 tokens"):
        block_sparse_attention(q, k, v, local_window_mask(32, 2), block=16)
    with pytest.raises(ValueError, match="pattern: expected one of"):
        pattern_mask("butterfly", 16)
    with pytest.raises(ValueError, match="n_global: expected an int in"):
        global_mask(8, 1, 9)
    with pytest.raises(ValueError, match="n_random: expected an int in"):
        random_block_mask(16, 4, 5)
    with pytest.raises(ValueError, match="block: must divide n = 10"):
        tile_layout(torch.ones(10, 10, dtype=torch.bool), 4)
    with pytest.raises(ValueError, match="stride: expected a positive int"):
        strided_mask(8, 0)


# --------------------------------------------------------------------------- the recall model


def test_recall_model_masks():
    n = 10
    window_model = SparseRecallModel(SparseRecallConfig(vocab=16, n_classes=8, window=2))
    assert torch.equal(window_model.mask(n), local_window_mask(n, 2))
    glob = SparseRecallModel(SparseRecallConfig(vocab=16, n_classes=8, window=2, n_global=1))
    mask = glob.mask(n)
    assert mask.shape == (n + 1, n + 1)
    assert mask[0].all() and mask[:, 0].all()
    assert torch.equal(mask[1:, 1:], local_window_mask(n, 2))
    dense = SparseRecallModel(SparseRecallConfig(vocab=16, n_classes=8, window=None))
    assert dense.mask(n).all() and dense.mask(n).shape == (n, n)


def _changes_at(model, position, perturbed):
    """Whether changing the token at ``perturbed`` changes the logits at ``position``."""
    tokens = torch.randint(0, 16, (1, 24), generator=torch.Generator().manual_seed(0))
    other = tokens.clone()
    other[0, perturbed] = (tokens[0, perturbed] + 1) % 16
    with torch.no_grad():
        a, b = model.eval()(tokens), model(other)
    return not torch.allclose(a[0, position], b[0, position], atol=1e-6)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_a_window_model_sees_n_layers_times_window_back_a_global_token_everything(n_layers):
    torch.manual_seed(0)
    window, i = 3, 12
    reach = n_layers * window
    local = SparseRecallModel(SparseRecallConfig(16, 8, window=window, n_layers=n_layers))
    assert _changes_at(local, i, i - reach) and _changes_at(local, i, i + reach)
    assert not _changes_at(local, i, i - reach - 1)
    assert not _changes_at(local, i, 0) and not _changes_at(local, i, 23)
    torch.manual_seed(0)
    config = SparseRecallConfig(16, 8, window=window, n_global=1, n_layers=n_layers)
    glob = SparseRecallModel(config)
    # one layer: the global token's value is still its own embedding; two: it carries every token
    assert _changes_at(glob, i, 0) == (n_layers == 2)
    assert _changes_at(glob, i, 23) == (n_layers == 2)


def test_recall_model_output_and_loss():
    torch.manual_seed(0)
    model = SparseRecallModel(SparseRecallConfig(vocab=16, n_classes=8, window=2, n_global=2))
    tokens = torch.randint(0, 16, (3, 9))
    logits = model(tokens)
    assert logits.shape == (3, 9, 8)
    labels = torch.full((3, 9), -100)
    labels[:, 5:] = 1
    loss = recall_loss(model, tokens, labels)
    expected = F.cross_entropy(logits[:, 5:].flatten(0, 1), labels[:, 5:].flatten())
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert math.isfinite(loss.item())
    with pytest.raises(ValueError, match=r"tokens: expected 2 dims \(batch, n\)"):
        model(tokens[0])
    with pytest.raises(ValueError, match="window: expected an int >= 0, got -1"):
        SparseRecallConfig(vocab=16, n_classes=8, window=-1)
    with pytest.raises(ValueError, match="n_global: expected an int >= 0"):
        SparseRecallConfig(vocab=16, n_classes=8, n_global=-1)
