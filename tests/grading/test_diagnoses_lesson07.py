"""Lesson 07's exercises name the common mistakes of the instructor notes, in the notebook and
in the grader alike."""

import pytest

from tests.grading.diagnoses import Mistake, check_diagnosis

TILED = """
def tiled_attention(q, k, v, causal=False, block_q=64, block_k=64):
    outputs = []
    for i in range(0, q.shape[-2], block_q):
        qi = q[..., i:i + block_q, :]{scale}
        rows = qi.shape[-2]
        m = torch.full((*qi.shape[:-1], 1), float("-inf"))
        norm = torch.zeros_like(m)
        acc = torch.zeros(*qi.shape[:-1], v.shape[-1])
        for j in range(0, k.shape[-2], block_k):
            s = qi @ k[..., j:j + block_k, :].transpose(-2, -1)
            if causal:
                s = s.masked_fill({later}, float("-inf"))
            m_new = torch.maximum(m, s.amax(-1, keepdim=True))
            p = torch.exp(s - m_new)
            r = torch.exp(m - m_new)
            norm = {norm}
            acc = {acc}
            m = m_new
        outputs.append({out})
    return torch.cat(outputs, dim=-2)
"""
LATER = "torch.arange(j, j + s.shape[-1]) > torch.arange(i, i + rows)[:, None]"


def tiled(
    scale=" / math.sqrt(q.shape[-1])",
    later=LATER,
    norm="norm * r + p.sum(-1, keepdim=True)",
    acc="acc * r + p @ v[..., j:j + block_k, :]",
    out="acc / norm",
):
    return TILED.format(scale=scale, later=later, norm=norm, acc=acc, out=out)


FULL_SCORES = """
def tiled_attention(q, k, v, causal=False, block_q=64, block_k=64):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        n = q.shape[-2]
        scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
"""
LINEAR = """
def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    fq, fk = {phi}
    S = torch.zeros(*q.shape[:-2], q.shape[-1], v.shape[-1])
    z = torch.zeros(*q.shape[:-2], q.shape[-1])
    outs = []
    for t in range(q.shape[-2]):
        if {first}:
            S = S + fk[..., t, :, None] * v[..., t, None, :]
            z = z + fk[..., t, :]
        num = (fq[..., t, :, None] * S).sum(-2)
        den = (fq[..., t, :] * z).sum(-1, keepdim=True)
        outs.append({out})
        if not {first}:
            S = S + fk[..., t, :, None] * v[..., t, None, :]
            z = z + fk[..., t, :]
    return torch.stack(outs, dim=-2)
"""


def linear(phi="F.elu(q) + 1, F.elu(k) + 1", first=True, out="num / (den + eps)"):
    return LINEAR.format(phi=phi, first=first, out=out)


NOT_CAUSAL = """
def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    fq, fk = F.elu(q) + 1, F.elu(k) + 1
    S = fk.transpose(-2, -1) @ v
    z = fk.sum(-2)
    outs = []
    for t in range(q.shape[-2]):
        num = (fq[..., t, :, None] * S).sum(-2)
        den = (fq[..., t, :] * z).sum(-1, keepdim=True)
        outs.append(num / (den + eps))
    return torch.stack(outs, dim=-2)
"""
PARALLEL = """
def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    a = ((F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-2, -1)).tril()
    return a @ v / (a.sum(-1, keepdim=True) + eps)
"""
BALANCE = """
def load_balancing_loss(router_probs, expert_index):
    n_tokens, n_experts = router_probs.shape
    counts = torch.bincount(expert_index, minlength=n_experts).to(router_probs.dtype)
    f = {f}
    P = {P}
    return {E}(f * P).sum()
"""


def balance(f="counts / n_tokens", P="router_probs.mean(0)", E="n_experts * "):
    return BALANCE.format(f=f, P=P, E=E)


T, L, B = "07_tiled_attention", "07_linear_attention_recurrent", "07_load_balancing_loss"
MISTAKES = [
    Mistake(T, "tiled_answer", tiled(norm="norm + p.sum(-1, keepdim=True)",
                                     acc="acc + p @ v[..., j:j + block_k, :]"),
            "tiled_values", "forgetting to rescale the running sums"),
    Mistake(T, "tiled_answer", tiled(scale=""), "tiled_values",
            "leaving out the 1/sqrt(d) scaling"),
    Mistake(T, "tiled_answer", tiled(acc="(acc * r + p @ v[..., j:j + block_k, :]) / norm",
                                     out="acc"),
            "tiled_values", "dividing by the running normaliser inside the loop"),
    Mistake(T, "tiled_answer", FULL_SCORES, "tiled_memory",
            "computing the whole (n_q, n_k) matrix of scores"),
    Mistake(T, "tiled_answer",
            tiled(later="torch.arange(s.shape[-1]) > torch.arange(rows)[:, None]"),
            "tiled_causal", "masking with the positions inside the tile"),
    Mistake(L, "linear_rec_answer", NOT_CAUSAL, "linear_rec_values",
            "the whole sequence's S and z for every query (not causal"),
    Mistake(L, "linear_rec_answer", linear(phi="q, k"), "linear_rec_values",
            "phi(x) = x instead of elu(x) + 1"),
    Mistake(L, "linear_rec_answer", linear(out="num"), "linear_rec_values",
            "leaving out the normaliser"),
    Mistake(L, "linear_rec_answer", linear(first=False), "linear_rec_values",
            "reading the state before adding token t"),
    Mistake(L, "linear_rec_answer", PARALLEL, "linear_rec_streaming",
            "the parallel form, the (n, n) matrix phi(Q) phi(K)^T masked"),
    Mistake(B, "lb_answer", balance(f="router_probs.mean(0)"), "lb_hand_computed",
            "the router probabilities for f_i too", hidden_only=("lb_balanced_collapsed",)),
    Mistake(B, "lb_answer", balance(E=""), "lb_balanced_collapsed", "leaving out the factor E"),
    Mistake(B, "lb_answer", balance(f="counts"), "lb_mean_not_sum",
            "summing over the tokens instead of averaging"),
    Mistake(B, "lb_answer", balance(P="router_probs.detach().mean(0)"), "lb_hand_computed",
            "a loss that does not reach router_probs"),
]  # fmt: skip


@pytest.mark.parametrize("case", MISTAKES, ids=lambda m: f"{m.exercise}-{m.names[:30]}")
def test_the_mistake_is_named_in_the_notebook_and_the_grader(grader, tmp_path, case):
    check_diagnosis(grader, tmp_path, case)
