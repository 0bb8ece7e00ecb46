"""Sinusoidal, learned and rotary positional encodings."""

import math

import pytest
import torch

from course_lib.core.positional import (
    LearnedPositions,
    SinusoidalPositions,
    frequencies,
    rotate,
    sinusoidal_encoding,
)


def test_sinusoidal_table_matches_the_formula():
    table = sinusoidal_encoding(50, 16)
    assert table.shape == (50, 16)
    p, i = 7, 3
    angle = p / 10_000 ** (2 * i / 16)
    assert table[p, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
    assert table[p, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)
    assert torch.allclose(table[0], torch.tensor([0.0, 1.0] * 8))
    assert torch.allclose(table.norm(dim=1), torch.full((50,), math.sqrt(8)), atol=1e-5)


def test_sinusoidal_offsets_are_a_rotation():
    # PE[p + k] is PE[p] with each (sin, cos) pair rotated by k w_i: the same map for every p.
    table, k = sinusoidal_encoding(40, 8), 5
    w = frequencies(8)  # (4,)
    sin, cos = table[:30, 0::2], table[:30, 1::2]  # (30, 4) each
    shifted = table[k : 30 + k]
    assert torch.allclose(
        shifted[:, 0::2], sin * torch.cos(k * w) + cos * torch.sin(k * w), atol=1e-5
    )
    assert torch.allclose(
        shifted[:, 1::2], cos * torch.cos(k * w) - sin * torch.sin(k * w), atol=1e-5
    )


def test_modules_add_positions():
    x = torch.zeros(2, 5, 8)
    assert torch.allclose(SinusoidalPositions(8)(x)[1], sinusoidal_encoding(5, 8))
    learned = LearnedPositions(8, max_len=6)
    assert torch.allclose(learned(x)[0], learned.table.weight[:5])
    with pytest.raises(ValueError, match="max_len=6"):
        learned(torch.zeros(1, 7, 8))
    with pytest.raises(ValueError, match="d_model"):
        SinusoidalPositions(8)(torch.zeros(1, 3, 6))


def test_rope_keeps_norms_and_depends_on_offsets_only():
    torch.manual_seed(0)
    q, k = torch.randn(16), torch.randn(16)
    n = 12
    rq, rk = rotate(q.expand(n, -1)), rotate(k.expand(n, -1))  # (n, 16) each
    assert torch.allclose(rq.norm(dim=1), q.norm().expand(n), atol=1e-5)
    scores = rq @ rk.T  # (n, n): the same q and k at every position
    for offset in range(-n + 1, n):
        diagonal = scores.diagonal(offset)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-4)
    assert not torch.allclose(scores.diagonal(0)[0], scores.diagonal(3)[0])
    assert torch.allclose(rotate(q[None]), q[None])  # position 0: no rotation
    assert torch.allclose(rotate(q.expand(3, -1), offset=4)[0], rq[4], atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="even"):
        frequencies(7)
    with pytest.raises(ValueError, match="n"):
        sinusoidal_encoding(0, 8)
    with pytest.raises(ValueError, match="even"):
        rotate(torch.randn(3, 5))
