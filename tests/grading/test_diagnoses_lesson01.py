"""Lesson 01's exercises name the common mistakes of the instructor notes, in the notebook and
in the grader alike."""

import pytest

from tests.grading.diagnoses import Mistake, check_diagnosis

SDPA = """
def scaled_dot_product_attention(q, k, v, mask=None):
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"d: {{q.shape[-1]}} vs {{k.shape[-1]}}")
    scores = q @ k.transpose(-2, -1){scale}
    if mask is not None:
        scores = scores.masked_fill({mask}, float("-inf"))
    weights = torch.softmax(scores, dim={dim})
    return {returned}
"""


def sdpa(scale=" / math.sqrt(q.shape[-1])", mask="~mask", dim=-1, returned="weights @ v, weights"):
    return SDPA.format(scale=scale, mask=mask, dim=dim, returned=returned)


MASKED = """
def masked_softmax(scores, mask):
    {body}
"""
NO_GUARD = 'return torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)'
MISTAKES = [
    Mistake("01_scaled_dot_attention", "sdpa_answer", sdpa(scale=""), "sdpa_plain",
            "leaving out the 1/sqrt(d) scaling"),
    Mistake("01_scaled_dot_attention", "sdpa_answer",
            sdpa(scale=" / math.sqrt(v.shape[-1])"), "sdpa_plain", "sqrt(d_v), the value size"),
    Mistake("01_scaled_dot_attention", "sdpa_answer", sdpa(dim=1), "sdpa_plain",
            "a softmax over the queries"),
    Mistake("01_scaled_dot_attention", "sdpa_answer", sdpa(returned="weights, weights @ v"),
            "sdpa_plain", "returning (weights, output)"),
    Mistake("01_scaled_dot_attention", "sdpa_answer", sdpa(mask="mask"), "sdpa_causal",
            "an inverted mask"),
    Mistake("01_masked_softmax", "masked_softmax_answer",
            MASKED.format(body="return torch.softmax(scores, -1) * mask"), "masked_padding",
            "multiplying the softmax by the mask without renormalising"),
    Mistake("01_masked_softmax", "masked_softmax_answer",
            MASKED.format(body='return torch.nan_to_num(torch.softmax('
                               'scores.masked_fill(mask, float("-inf")), -1))'),
            "masked_padding", "an inverted mask"),
    Mistake("01_masked_softmax", "masked_softmax_answer",
            MASKED.format(body="return torch.softmax(scores.masked_fill(~mask, -1e9), -1)"),
            "masked_empty_row", "filling with -1e9 instead of -inf"),
    Mistake("01_masked_softmax", "masked_softmax_answer",
            MASKED.format(body=NO_GUARD),
            "masked_empty_row", "no guard for a fully masked row"),
]  # fmt: skip


@pytest.mark.parametrize("case", MISTAKES, ids=lambda m: f"{m.exercise}-{m.names[:30]}")
def test_the_mistake_is_named_in_the_notebook_and_the_grader(grader, tmp_path, case):
    check_diagnosis(grader, tmp_path, case)
