"""Lessons 00 and 02's exercises name the common mistakes of the instructor notes, in the
notebook and in the grader alike."""

import pytest

from tests.grading.diagnoses import Mistake, check_diagnosis, same_verdicts
from tests.grading.helpers import submission

SOFTMAX = """
def softmax(x):
    {body}
"""
STEP = """
def bahdanau_step(y_prev, state, memory, src_mask, embed, score, cell, out):
    weights = {weights}
    context = (weights @ memory)[:, 0]
    new_state = cell(torch.cat([embed(y_prev), context], dim=-1), state)
    {requery}
    logits = out(torch.cat([{read_out}, context], dim=-1))
    return logits, {returned}, {weights_out}
"""


def step(weights="masked_softmax(score(state[:, None], memory), src_mask)", requery="",
         read_out="new_state", returned="new_state", weights_out="weights[:, 0]"):  # fmt: skip
    return STEP.format(weights=weights, requery=requery, read_out=read_out, returned=returned,
                       weights_out=weights_out)  # fmt: skip


LUONG = """weights = masked_softmax(score(new_state[:, None], memory), src_mask)
    context = (weights @ memory)[:, 0]"""
EXACT = """
def exact_match(pred_ids, tgt_ids, eos_id=3):
    {body}
"""
CUT_AT_EOS = """result = []
    for pred, tgt in zip(pred_ids.tolist(), tgt_ids.tolist()):
        if eos_id not in pred:
            result.append({no_eos})
            continue
        pred = pred[: {cut} + 1]
        tgt = tgt[: tgt.index(eos_id) + 1]
        result.append({same})
    return torch.tensor(result{dtype})"""


def exact(cut="pred.index(eos_id)", no_eos="False", same="pred == tgt", dtype=", dtype=torch.bool"):
    body = CUT_AT_EOS.format(cut=cut, no_eos=no_eos, same=same, dtype=dtype)
    return EXACT.format(body=body)


BINS = """
def accuracy_by_length(lengths, correct, edges):
    out = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (lengths >= low) & (lengths {upper} high)
        out.append(correct[inside].float().mean().item() if inside.any() else {empty})
    return torch.tensor(out, dtype=torch.float32)
"""
POOL = """
def attention_pool(states, mask, u, W_q, W_k, w_v):
    scores = torch.tanh(u @ W_q + states @ W_k) @ w_v
    weights = {weights}
    return {pooled}, weights
"""


def pool(weights="masked_softmax(scores, mask)",
         pooled="(weights[:, :, None] * states).sum(1)"):  # fmt: skip
    return POOL.format(weights=weights, pooled=pooled)


MASS = """
def rationale_mass(weights, rationale):
    return {body}
"""
COPY = """
def copy_distribution(weights, copy_ids, n_words):
    batch, slots, n = weights.shape
    index = {index}.expand(batch, slots, n)
    return weights.new_zeros(batch, slots, n_words).{scatter}(-1, index, weights)
"""


def copy(index="copy_ids[:, None, :]", scatter="scatter_add"):
    return COPY.format(index=index, scatter=scatter)


MISTAKES = [
    Mistake("00_warmup", "softmax_answer",
            SOFTMAX.format(body="return x.exp() / x.exp().sum(dim=-1, keepdim=True)"),
            "softmax_stable", "without first subtracting each row's maximum"),
    Mistake("00_warmup", "softmax_answer",
            SOFTMAX.format(body="e = (x - x.max(dim=0, keepdim=True).values).exp()\n"
                                "    return e / e.sum(dim=0, keepdim=True)"),
            "softmax_small", "normalising over the first dimension (dim=0)"),
    Mistake("00_warmup", "softmax_answer",
            SOFTMAX.format(body="e = (x - x.max()).exp()\n    return e / e.sum()"),
            "softmax_small", "the sum of the whole tensor instead of each row's"),
    Mistake("02_bahdanau_step", "bahdanau_step_answer",
            step(weights="torch.softmax(score(state[:, None], memory), dim=-1)"),
            "bahdanau_step_values", "a plain softmax without the padding mask"),
    Mistake("02_bahdanau_step", "bahdanau_step_answer", step(weights_out="weights"),
            "bahdanau_step_values", "keeping the queries axis in the returned weights"),
    Mistake("02_bahdanau_step", "bahdanau_step_answer", step(requery=LUONG),
            "bahdanau_step_values", "the new state s_t as the query (Luong's order)"),
    Mistake("02_bahdanau_step", "bahdanau_step_answer", step(read_out="state", returned="state"),
            "bahdanau_step_values", "returning the old state s_{t-1} instead of the new state"),
    Mistake("02_exact_match", "exact_match_answer",
            EXACT.format(body="return (pred_ids[:, :tgt_ids.shape[1]] == tgt_ids).all(-1)"),
            "exact_match_basic", "comparing the tensors position by position"),
    Mistake("02_exact_match", "exact_match_answer",
            exact(no_eos="0", same="int(pred == tgt)", dtype=""),
            "exact_match_basic", "returning integers (0/1) instead of booleans"),
    Mistake("02_attention_pooling", "attention_pool_answer",
            pool(weights="torch.softmax(scores, dim=-1)"),
            "attention_pool_values", "a softmax over all the tokens, padding included"),
    Mistake("02_attention_pooling", "attention_pool_answer", pool(pooled="states.mean(1)"),
            "attention_pool_values", "the mean of the states instead of their weighted sum"),
    Mistake("02_attention_pooling", "rationale_mass_answer",
            MASS.format(body="(weights * rationale).mean(-1)"),
            "rationale_mass_values", "the mean over the tokens instead of the sum"),
    Mistake("02_attention_pooling", "rationale_mass_answer",
            MASS.format(body="weights[rationale].sum()"),
            "rationale_mass_values", "one sum over the whole batch instead of one per sentence"),
    Mistake("02_copy_distribution", "copy_distribution_answer", copy(scatter="scatter"),
            "copy_distribution_small", "scatter instead of scatter_add"),
    Mistake("02_copy_distribution", "copy_distribution_answer",
            copy(index="copy_ids[:1, None, :]"),
            "copy_distribution_batch", "the first document's copy ids for every document",
            hidden_only=("copy_distribution_small",)),
    Mistake("02_exact_match", "accuracy_by_length_answer", BINS.format(upper="<", empty="0.0"),
            "accuracy_by_length_bins", "giving an empty bin 0 instead of nan"),
    Mistake("02_exact_match", "accuracy_by_length_answer",
            BINS.format(upper="<=", empty='float("nan")'),
            "accuracy_by_length_bins", "bins closed on the right"),
]  # fmt: skip

# The visible checks cannot see this one (the notebook passes them); the grader's hidden test
# fails it and names the mistake.
GRADER_ONLY = [
    Mistake("02_exact_match", "exact_match_answer",
            exact(cut="len(pred) - 1 - pred[::-1].index(eos_id)"),
            "exact_match_basic", "cutting the prediction at its last <eos> instead of its first"),
]  # fmt: skip


@pytest.mark.parametrize("case", MISTAKES, ids=lambda m: f"{m.exercise}-{m.names[:30]}")
def test_the_mistake_is_named_in_the_notebook_and_the_grader(grader, tmp_path, case):
    check_diagnosis(grader, tmp_path, case)


@pytest.mark.parametrize("case", GRADER_ONLY, ids=lambda m: f"{m.exercise}-{m.names[:30]}")
def test_a_mistake_the_notebook_cannot_see_is_named_by_the_grader(grader, tmp_path, case):
    path = submission(tmp_path, case.exercise, {case.answer_id: case.answer})
    # the visible checks pass in the notebook, the hidden ones fail in the grader
    _, graded = same_verdicts(grader, path, hidden_only=(case.test_id,))
    test = graded[case.test_id]
    assert not test["passed"] and case.names in test["message"], test
    assert "Hint:" not in test["message"]
