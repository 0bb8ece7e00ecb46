"""The course's MultiHeadAttention equals torch.nn.MultiheadAttention with copied weights."""

import pytest
import torch

from course_lib.core.masks import causal_mask
from course_lib.core.torch_mha import compare, from_torch, our_mask, to_torch, torch_mask_args
from course_lib.core.transformer import MultiHeadAttention, TransformerConfig


def make(d=32, heads=4, seed=0):
    torch.manual_seed(seed)
    return MultiHeadAttention(TransformerConfig(d_model=d, n_heads=heads)).eval()


@pytest.mark.parametrize(
    "case", ["self", "causal", "cross_padding", "causal_padding", "one_head", "eight_heads"]
)
def test_outputs_and_weights_equal_torch(case):
    heads = {"one_head": 1, "eight_heads": 8}.get(case, 4)
    ours = make(heads=heads, seed=hash(case) % 100)
    x, memory = torch.randn(3, 7, 32), torch.randn(3, 9, 32)
    mask = lengths = None
    key = x
    if case in ("causal", "causal_padding"):
        mask = causal_mask(7)
    if case == "cross_padding":
        key, lengths = memory, torch.tensor([9, 4, 1])
    if case == "causal_padding":
        lengths = torch.tensor([7, 5, 2])
    result = compare(ours, x, key, key, mask, lengths)
    assert result.worst <= 1e-5, result


def test_copy_round_trip_and_training_gradients_match():
    ours = make().train()
    theirs = to_torch(ours)
    back = from_torch(theirs)
    for a, b in zip(ours.state_dict().values(), back.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    x = torch.randn(2, 5, 32, requires_grad=True)
    ours(x, x, x, causal_mask(5))[0].pow(2).sum().backward()
    grad_ours = x.grad.clone()
    x.grad = None
    theirs(x, x, x, **torch_mask_args(causal_mask(5)))[0].pow(2).sum().backward()
    assert torch.allclose(grad_ours, x.grad, atol=1e-5)
    assert torch.allclose(ours.q_proj.weight.grad.norm(), theirs.in_proj_weight.grad[:32].norm())


def test_a_wrong_copy_is_caught():
    ours = make()
    theirs = to_torch(ours)
    with torch.no_grad():  # swap q and k: scores transpose, the outputs differ
        w = theirs.in_proj_weight
        w.copy_(torch.cat([w[32:64], w[:32], w[64:]]))
    x = torch.randn(2, 6, 32)
    diff = (ours(x, x, x)[0] - theirs(x, x, x)[0]).abs().max()
    assert diff > 1e-3


def test_masks_translate_to_torch_convention():
    args = torch_mask_args(causal_mask(3), torch.tensor([3, 1]))
    assert args["attn_mask"].tolist() == [
        [False, True, True],
        [False, False, True],
        [False, False, False],
    ]
    assert args["key_padding_mask"].tolist() == [[False, False, False], [False, True, True]]
    assert our_mask(None, None, 3) is None
    combined = our_mask(causal_mask(3), torch.tensor([3, 1]), 3)
    assert combined.shape == (2, 3, 3) and combined[1, 2].tolist() == [True, False, False]


def test_bad_input_errors_name_the_argument():
    with pytest.raises(TypeError, match="ours"):
        to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="theirs"):
        from_torch(make())
    with pytest.raises(TypeError, match="mask: expected dtype torch.bool"):
        torch_mask_args(causal_mask(3).float())
    with pytest.raises(ValueError, match="mask"):
        torch_mask_args(torch.ones(2, 3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="key_lengths"):
        compare(
            make(),
            torch.randn(2, 3, 32),
            torch.randn(2, 3, 32),
            torch.randn(2, 3, 32),
            key_lengths=torch.tensor([3, 3, 3]),
        )
