"""Gradient checkpointing changes no number, only what is stored: the same outputs and gradients
as the plain stack, a fraction of its peak memory for one extra forward's time."""

import pytest
import torch

from course_lib.core.transformer import TransformerConfig
from course_lib.scale import checkpointing
from course_lib.scale.checkpointing import StepCost, TransformerStack, checkpointing_cost

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIG = TransformerConfig(d_model=16, n_heads=2, d_ff=32)


def twin_stacks(depth=3):
    torch.manual_seed(0)
    plain = TransformerStack(CONFIG, depth, checkpointed=False)
    checkpointed = TransformerStack(CONFIG, depth, checkpointed=True)
    checkpointed.load_state_dict(plain.state_dict())
    return plain, checkpointed


@pytest.fixture
def checkpoint_calls(monkeypatch):
    """Counts the calls of ``torch.utils.checkpoint.checkpoint`` made by the stack."""
    calls = []
    original = checkpointing.checkpoint

    def counted(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(checkpointing, "checkpoint", counted)
    return calls


def test_checkpointed_stack_gives_the_same_outputs_and_gradients(checkpoint_calls):
    plain, checkpointed = twin_stacks()
    x = torch.randn(2, 10, 16, generator=torch.Generator().manual_seed(1))
    grads = {}
    for name, model in (("plain", plain), ("checkpointed", checkpointed)):
        xi = x.clone().requires_grad_()
        out = model(xi)
        assert out.shape == (2, 10, 16)
        out.pow(2).mean().backward()
        grads[name] = (out.detach(), xi.grad, {k: p.grad for k, p in model.named_parameters()})
    assert checkpoint_calls == list(checkpointed.blocks)  # each block once, the plain one never
    out_p, x_grad_p, params_p = grads["plain"]
    out_c, x_grad_c, params_c = grads["checkpointed"]
    assert torch.allclose(out_p, out_c, atol=1e-6)
    assert torch.allclose(x_grad_p, x_grad_c, atol=1e-6)
    assert params_p.keys() == params_c.keys() and len(params_p) > 0
    for key, grad in params_p.items():
        assert grad is not None and grad.abs().sum() > 0, key
        assert torch.allclose(grad, params_c[key], atol=1e-6), key


def test_no_checkpoint_without_gradients(checkpoint_calls):
    plain, checkpointed = twin_stacks(depth=2)
    x = torch.randn(1, 6, 16)
    for mode in (checkpointed.eval, checkpointed.train):
        mode()
        with torch.no_grad():
            out = checkpointed(x)
        assert not out.requires_grad
        assert torch.allclose(out, plain(x), atol=1e-6)
    assert checkpoint_calls == []
    checkpointed(x).sum().backward()  # with gradients it checkpoints again
    assert len(checkpoint_calls) == 2


def test_checkpointing_trades_memory_for_time():
    plain, saved = checkpointing_cost(8, 256, repeats=5)
    assert isinstance(plain, StepCost) and plain.depth == 8 and plain.n == 256
    assert not plain.checkpointed and saved.checkpointed
    # measured: about 0.3 (one block's intermediates plus every block's input)
    assert saved.peak_bytes < plain.peak_bytes / 2
    # measured: about 1.5 (one more forward in a forward + backward); lenient on a busy machine
    assert 1.0 < saved.seconds / plain.seconds < 2.5


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="depth: expected a positive int, got 0"):
        TransformerStack(CONFIG, 0)
    stack = TransformerStack(CONFIG, 1, checkpointed=True)
    with pytest.raises(ValueError, match=r"x: expected 3 dims \(batch, n, d_model\)"):
        stack(torch.randn(6, 16))
    with pytest.raises(ValueError, match="n: expected a positive int, got 0"):
        checkpointing_cost(2, 0)
    with pytest.raises(ValueError, match="depth: expected a positive int, got -1"):
        checkpointing_cost(-1, 16)
    with pytest.raises(ValueError, match="repeats: expected a positive int, got 0"):
        checkpointing_cost(2, 16, repeats=0)
    with pytest.raises(ValueError, match="n_heads: must divide d_model = 64, got 5"):
        checkpointing_cost(2, 16, n_heads=5)
