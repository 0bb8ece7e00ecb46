"""Lesson 03's exercises name the common mistakes of the instructor notes, in the notebook and
in the grader alike."""

import pytest

from tests.grading.diagnoses import Mistake, check_diagnosis

SPLIT = """
def split_heads(x, n_heads):
    batch, length, d_model = x.shape
    if d_model % n_heads:
        raise ValueError(f"n_heads={{n_heads}} does not divide d_model={{d_model}}")
    return {split}


def merge_heads(x):
    batch, heads, length, d_head = x.shape
    return {merge}
"""


def heads(
    split="x.reshape(batch, length, n_heads, d_model // n_heads).transpose(1, 2)",
    merge="x.transpose(1, 2).reshape(batch, length, heads * d_head)",
):
    return SPLIT.format(split=split, merge=merge)


SINUSOIDAL = """
def sinusoidal_encoding(n, d, base=10000.0):
    if d % 2:
        raise ValueError(f"d must be even, got d={{d}}")
    freqs = {base} ** (-torch.arange({steps}, dtype=torch.float32) / d)
    angles = torch.arange(n, dtype=torch.float32)[:, None] * freqs
    return {table}
"""


def sinusoidal(
    base="base",
    steps="0, d, 2",
    table="torch.stack([angles.sin(), angles.cos()], dim=-1).reshape(n, d)",
):
    return SINUSOIDAL.format(base=base, steps=steps, table=table)


CAUSAL = """
def causal_self_attention(x, w_qkv, b_qkv, w_out, b_out, n_heads):
    batch, length, d = x.shape
    d_head = d // n_heads
    q, k, v = (x @ w_qkv.T + b_qkv).chunk(3, dim=-1)
    q, k, v = (t.reshape(batch, length, n_heads, d_head).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt({scale})
    weights = {softmax}
    out = (weights @ v){swap}.reshape(batch, length, d)
    return {returned}
"""


def causal(
    scale="d_head",
    softmax="masked_softmax(scores, causal_mask(length))",
    swap=".transpose(1, 2)",
    returned="out @ w_out.T + b_out",
):
    return CAUSAL.format(scale=scale, softmax=softmax, swap=swap, returned=returned)


MISTAKES = [
    Mistake("03_split_heads", "split_heads_answer",
            heads(split="x.reshape(batch, n_heads, length, d_model // n_heads)"),
            "split_heads_layout", "reshaping x straight to (batch, heads, T, d_head)"),
    Mistake("03_split_heads", "split_heads_answer",
            heads(merge="x.reshape(batch, length, heads * d_head)"),
            "merge_heads_inverse", "without swapping the heads and T axes back"),
    Mistake("03_sinusoidal_encoding", "sinusoidal_answer",
            sinusoidal(table="torch.stack([angles.cos(), angles.sin()], dim=-1).reshape(n, d)"),
            "sinusoidal_values", "cosines in the even columns and sines in the odd ones"),
    Mistake("03_sinusoidal_encoding", "sinusoidal_answer",
            sinusoidal(table="torch.cat([angles.sin(), angles.cos()], dim=-1)"),
            "sinusoidal_values", "sines and cosines in two halves"),
    Mistake("03_sinusoidal_encoding", "sinusoidal_answer", sinusoidal(steps="d // 2"),
            "sinusoidal_values", "the exponent -i/d instead of -2i/d"),
    Mistake("03_sinusoidal_encoding", "sinusoidal_answer", sinusoidal(base="10000.0"),
            "sinusoidal_properties", "ignoring the base argument"),
    Mistake("03_causal_self_attention", "causal_self_attention_answer", causal(scale="d"),
            "causal_sa_values", "scaling by sqrt(d) instead of sqrt(d_head)"),
    Mistake("03_causal_self_attention", "causal_self_attention_answer",
            causal(softmax="torch.softmax(scores, dim=-1)"),
            "causal_sa_values", "leaving out the causal mask"),
    Mistake("03_causal_self_attention", "causal_self_attention_answer", causal(swap=""),
            "causal_sa_values", "merging the heads without swapping"),
    Mistake("03_causal_self_attention", "causal_self_attention_answer", causal(returned="out"),
            "causal_sa_values", "leaving out the output projection"),
]  # fmt: skip


@pytest.mark.parametrize("case", MISTAKES, ids=lambda m: f"{m.test_id}-{m.names[:30]}")
def test_the_mistake_is_named_in_the_notebook_and_the_grader(grader, tmp_path, case):
    check_diagnosis(grader, tmp_path, case)
