"""The online softmax equals torch's softmax; tiled attention equals scaled dot-product attention
(also causal, with gradients) while never holding an (n_q, n_k) matrix, and causal skips tiles."""

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from course_lib.core.attention import attention
from course_lib.core.attention_cost import _LiveTensorBytes, naive_attention
from course_lib.scale.flash import online_softmax, tiled_attention

pytestmark = pytest.mark.usefixtures("one_thread")


def qkv(*lead, n_q=37, n_k=None, d=8, d_v=None, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    n_k = n_q if n_k is None else n_k
    q = torch.randn(*lead, n_q, d, generator=g, dtype=dtype)
    k = torch.randn(*lead, n_k, d, generator=g, dtype=dtype)
    v = torch.randn(*lead, n_k, d if d_v is None else d_v, generator=g, dtype=dtype)
    return q, k, v


class _Ops(TorchDispatchMode):
    """Counts every aten op and the largest number of elements any op's output holds."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter = Counter()
        self.max_numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.calls[func.overloadpacket.__name__] += 1
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.max_numel = max(self.max_numel, t.numel())
        return out


class _NewTensorBytes(_LiveTensorBytes):
    """lesson 03's live-bytes tracker, with the inputs' storages marked as already there (so a
    slice of an input is not counted as a new allocation)."""

    def __init__(self, *inputs: torch.Tensor) -> None:
        super().__init__()
        for t in inputs:
            self.live[id(t.untyped_storage())] = 0


@torch.no_grad()
def new_tensor_peak(fn, *args: torch.Tensor) -> int:
    with _NewTensorBytes(*args) as tracker:
        out = fn(*args)
        del out
    return tracker.peak


# --------------------------------------------------------------------------- online softmax


@pytest.mark.parametrize("block", [1, 3, 8, 16, 100])
@pytest.mark.parametrize("shape", [(16,), (17,), (4, 17), (2, 3, 16)])
def test_online_softmax_equals_softmax(shape, block):
    x = 3 * torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    out = online_softmax(x, block=block)
    assert out.shape == x.shape
    assert torch.allclose(out, torch.softmax(x, -1), atol=1e-6)
    assert torch.allclose(out.sum(-1), torch.ones(shape[:-1]), atol=1e-6)


def test_online_softmax_is_stable_for_large_values():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(5, 40, generator=g) * 50 + 1000  # exp(1000) overflows float32
    x[0, 37] = 5000.0  # the maximum only in the last block
    out = online_softmax(x, block=8)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, torch.softmax(x, -1), atol=1e-6)
    assert out[0, 37] == pytest.approx(1.0)
    assert torch.allclose(online_softmax(-x, block=8), torch.softmax(-x, -1), atol=1e-6)


def test_online_softmax_gives_minus_inf_no_weight():
    x = torch.randn(3, 10, generator=torch.Generator().manual_seed(3))
    x[0, 2] = x[1, 7] = x[2, 9] = -math.inf
    out = online_softmax(x, block=4)
    assert torch.allclose(out, torch.softmax(x, -1), atol=1e-6)
    assert out[0, 2] == 0 and out[1, 7] == 0 and out[2, 9] == 0
    all_masked = torch.full((2, 6), -math.inf)
    assert online_softmax(all_masked, block=4).isnan().all()  # as torch.softmax does
    assert torch.softmax(all_masked, -1).isnan().all()


def test_online_softmax_with_a_first_block_of_only_minus_inf():
    """A row whose first block is all -inf (a causal or padded row read left to right) still has
    a softmax: the running max is -inf until a finite column comes."""
    x = torch.tensor([[-math.inf, -math.inf, 1.0, 2.0], [0.5, -math.inf, -math.inf, 2.0]])
    expected = torch.softmax(x, -1)
    for block in (1, 2, 3, 4):
        assert torch.allclose(online_softmax(x, block=block), expected, atol=1e-6), block


def test_online_softmax_errors_name_the_argument():
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="block: expected a positive int, got 0"):
        online_softmax(x, block=0)
    with pytest.raises(TypeError, match="x: expected a torch.Tensor, got list"):
        online_softmax([1.0, 2.0])
    with pytest.raises(ValueError, match="x: expected at least one column"):
        online_softmax(torch.zeros(3, 0))
    with pytest.raises(ValueError, match="x: expected at least one column"):
        online_softmax(torch.tensor(1.0))


# --------------------------------------------------------------------------- tiled attention


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("block_q, block_k", [(8, 8), (5, 7), (16, 3), (64, 64), (1, 37)])
def test_tiled_attention_equals_sdpa(causal, block_q, block_k):
    q, k, v = qkv(2, 3, n_q=37, d=8, d_v=5)
    out = tiled_attention(q, k, v, causal=causal, block_q=block_q, block_k=block_k)
    assert out.shape == (2, 3, 37, 5)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert torch.allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("lead", [(), (4,), (2, 3), (2, 1, 2)])
def test_tiled_attention_carries_any_leading_dims(lead):
    q, k, v = qkv(*lead, n_q=20, d=4)
    for causal in (False, True):
        out = tiled_attention(q, k, v, causal=causal, block_q=6, block_k=9)
        assert out.shape == (*lead, 20, 4)
        expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        assert torch.allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("n_q, n_k", [(7, 50), (50, 7), (1, 33), (33, 1)])
def test_tiled_attention_with_more_or_fewer_queries_than_keys(n_q, n_k):
    q, k, v = qkv(2, 2, n_q=n_q, n_k=n_k, d=6, d_v=3)
    out = tiled_attention(q, k, v, block_q=4, block_k=16)
    assert out.shape == (2, 2, n_q, 3)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5)


def test_tiled_attention_equals_the_course_attention_on_3d_inputs():
    q, k, v = qkv(3, n_q=30, n_k=45, d=8, d_v=6)
    expected, _ = attention(q, k, v)
    assert torch.allclose(tiled_attention(q, k, v, block_q=8, block_k=8), expected, atol=1e-5)
    q, k, v = qkv(3, n_q=30, d=8)
    causal = torch.ones(30, 30, dtype=torch.bool).tril()
    expected, _ = attention(q, k, v, mask=causal)
    assert torch.allclose(tiled_attention(q, k, v, causal=True, block_q=7), expected, atol=1e-5)


def test_tiled_attention_in_float64_and_with_large_scores():
    q, k, v = qkv(2, n_q=40, d=16, dtype=torch.float64)
    out = tiled_attention(q * 30, k * 30, v, block_q=16, block_k=8)  # scores ~ 1e3: exp overflows
    assert out.dtype == torch.float64 and torch.isfinite(out).all()
    expected = F.scaled_dot_product_attention(q * 30, k * 30, v)
    assert torch.allclose(out, expected, atol=1e-10)


def test_tiled_attention_never_holds_an_n_by_n_matrix():
    n, d = 1024, 64
    q, k, v = qkv(1, 1, n_q=n, d=d)
    square = n * n * 4  # bytes of one float32 (n, n) matrix
    with torch.no_grad(), _Ops() as ops:
        tiled_attention(q, k, v)
    assert ops.max_numel <= n * d  # the output; the largest tile is 128 x 128 < n * d
    assert ops.calls["bmm"] == 2 * (n // 128) ** 2  # scores and weights @ values, per tile
    tiled_peak = new_tensor_peak(tiled_attention, q, k, v)
    naive_peak = new_tensor_peak(naive_attention, q, k, v)
    assert tiled_peak < square / 4  # the output, a few tiles and per-row statistics
    assert naive_peak >= 2 * square  # scores and weights, both (n, n)
    with torch.no_grad(), _Ops() as ops:
        naive_attention(q, k, v)
    assert ops.max_numel == n * n


@pytest.mark.parametrize("n, block", [(512, 128), (96, 32), (100, 32)])
def test_causal_attention_skips_the_tiles_above_the_diagonal(n, block):
    q, k, v = qkv(2, n_q=n, d=4)
    counts = {}
    for causal in (False, True):
        with torch.no_grad(), _Ops() as ops:
            tiled_attention(q, k, v, causal=causal, block_q=block, block_k=block)
        counts[causal] = ops.calls["bmm"] // 2  # two matrix products per tile
    tiles = math.ceil(n / block)
    assert counts[False] == tiles * tiles
    assert counts[True] == tiles * (tiles + 1) // 2  # the diagonal and below


def test_gradients_through_tiled_attention_equal_those_through_sdpa():
    for causal in (False, True):
        q, k, v = (t.requires_grad_() for t in qkv(2, 2, n_q=19, d=8, d_v=4, seed=4))
        grad_out = torch.randn(2, 2, 19, 4, generator=torch.Generator().manual_seed(5))
        out = tiled_attention(q, k, v, causal=causal, block_q=8, block_k=5)
        tiled = torch.autograd.grad(out, (q, k, v), grad_out)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        reference = torch.autograd.grad(out, (q, k, v), grad_out)
        for name, a, b in zip("qkv", tiled, reference, strict=True):
            assert torch.allclose(a, b, atol=1e-5), (causal, name)


def test_tiled_attention_errors_name_the_argument():
    q, k, v = qkv(2, n_q=10, d=8)
    with pytest.raises(ValueError, match="q and k feature sizes must match, got q.d=8, k.d=4"):
        tiled_attention(q, k[..., :4], v)
    with pytest.raises(ValueError, match="k and v lengths must match"):
        tiled_attention(q, k, v[:, :9])
    with pytest.raises(ValueError, match="causal: needs as many queries as keys, got n_q=5"):
        tiled_attention(q[:, :5], k, v, causal=True)
    with pytest.raises(ValueError, match="block_q: expected a positive int, got 0"):
        tiled_attention(q, k, v, block_q=0)
    with pytest.raises(ValueError, match="block_k: expected a positive int, got -2"):
        tiled_attention(q, k, v, block_k=-2)
    with pytest.raises(TypeError, match="k: expected a torch.Tensor, got list"):
        tiled_attention(q, k.tolist(), v)
    with pytest.raises(ValueError, match=r"v: expected \(..., n, features\)"):
        tiled_attention(q, k, torch.randn(10))
    with pytest.raises(ValueError, match="leading dims"):
        tiled_attention(q, k, v[None])
    with pytest.raises(ValueError, match=r"leading dims \(batch, heads\) must match"):
        tiled_attention(q, torch.cat([k, k]), torch.cat([v, v]))
