"""Attention rollout and the weights it reads from transformer blocks."""

import pytest
import torch

from course_lib.core.transformer import TransformerBlock, TransformerConfig
from course_lib.explain.rollout import attention_rollout, fuse_heads, self_attention_weights
from course_lib.vision.vit import VitConfig, VitLite

pytestmark = pytest.mark.usefixtures("one_thread")


def random_attention(layers=3, batch=2, heads=4, t=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(layers, batch, heads, t, t, generator=gen).softmax(-1)


def test_one_layer_without_residual_is_the_mean_over_heads():
    w = random_attention(layers=1)
    assert torch.allclose(attention_rollout(w, residual=False), w[0].mean(1))


def test_rollout_multiplies_layers_from_the_bottom_up_and_rows_sum_to_one():
    w = random_attention()
    a = [0.5 * layer.mean(1) + 0.5 * torch.eye(5) for layer in w]  # rows already sum to 1
    expected = a[2] @ a[1] @ a[0]
    rollout = attention_rollout(w)
    assert torch.allclose(rollout, expected, atol=1e-6)
    assert torch.allclose(rollout.sum(-1), torch.ones(2, 5), atol=1e-6)


def test_identity_attention_rolls_out_to_the_identity():
    w = torch.eye(4).expand(2, 1, 3, 4, 4)
    assert torch.allclose(attention_rollout(w), torch.eye(4).expand(1, 4, 4))


def test_fusions_and_bad_names():
    w = random_attention()
    assert torch.equal(fuse_heads(w, "max"), w.amax(2))
    assert torch.equal(fuse_heads(w, "min"), w.amin(2))
    with pytest.raises(ValueError, match="fusion: expected one of"):
        fuse_heads(w, "median")
    with pytest.raises(ValueError, match="weights: expected 5 dims"):
        attention_rollout(w[0])


def test_self_attention_weights_stack_what_each_block_kept():
    torch.manual_seed(0)
    vit = VitLite(VitConfig(depth=2, block=TransformerConfig(d_model=16, n_heads=2, d_ff=32)))
    with pytest.raises(RuntimeError, match="run the model on a batch first"):
        self_attention_weights(vit.blocks)
    vit(torch.rand(3, 1, 28, 28))
    weights = self_attention_weights(vit.blocks)
    assert weights.shape == (2, 3, 2, 50, 50)
    assert torch.allclose(weights[:, :, :, 0, 1:], vit.class_attention())
    with pytest.raises(TypeError, match="blocks: expected"):
        self_attention_weights([torch.nn.Linear(2, 2)])
    assert isinstance(vit.blocks[0], TransformerBlock)
