import math

import pytest
import torch
from torch import nn

from course_lib.core.transformer import TransformerBlock, TransformerConfig
from course_lib.scale.moe import (
    RUNS,
    MoEExperimentConfig,
    MoEFeedForward,
    Router,
    TokenTagger,
    active_parameters,
    expert_capacity,
    load_balancing_loss,
    moe_block,
    moe_experiment,
    moe_layers,
    parameter_counts,
    top_k_routing,
    utilisation_cv,
)
from course_lib.train.utils import count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")


def _logits(choices: list[list[int]], n_experts: int) -> torch.Tensor:
    """Logits whose top choices are ``choices`` (best first): 3, 2, ... for the chosen, 0 else."""
    logits = torch.zeros(len(choices), n_experts)
    for row, chosen in enumerate(choices):
        for rank, e in enumerate(chosen):
            logits[row, e] = 3.0 - rank
    return logits


# ----------------------------------------------------------------------------------- capacity


@pytest.mark.parametrize(
    "tokens, n_experts, k, factor, expected",
    [(6, 3, 1, 1.0, 2), (512, 8, 1, 1.25, 80), (10, 4, 2, 1.0, 5), (100, 10, 1, 1.1, 11)],
)
def test_expert_capacity(tokens, n_experts, k, factor, expected):
    assert expert_capacity(tokens, n_experts, k, factor) == expected


def test_top1_routing_drops_tokens_over_capacity_in_token_order():
    logits = _logits([[0], [0], [0], [1], [2], [0]], n_experts=3)
    r = top_k_routing(logits, k=1, capacity_factor=1.0)
    assert r.capacity == 2  # ceil(1.0 * 6 * 1 / 3)
    assert r.probs.shape == (6, 3) and r.expert_index.shape == r.gates.shape == (6, 1)
    assert r.expert_index.flatten().tolist() == [0, 0, 0, 1, 2, 0]
    assert r.position.flatten().tolist() == [0, 1, 2, 0, 0, 3]
    assert r.keep.flatten().tolist() == [True, True, False, True, True, False]
    # Switch: the gate is the chosen probability, e^3 / (e^3 + 2)
    assert torch.allclose(r.gates.flatten(), torch.full((6,), math.exp(3) / (math.exp(3) + 2)))
    assert r.counts().tolist() == [4, 1, 1] and r.kept_counts().tolist() == [2, 1, 1]
    assert r.dropped_fraction() == pytest.approx(2 / 6)


def test_top2_routing_fills_first_choices_before_second_ones():
    # token 0 prefers expert 1, then 0; tokens 1-3 prefer 0, then 1
    logits = _logits([[1, 0], [0, 1], [0, 1], [0, 1]], n_experts=3)
    r = top_k_routing(logits, k=2, capacity_factor=1.0)
    assert r.capacity == 3  # ceil(1.0 * 4 * 2 / 3)
    assert r.expert_index.tolist() == [[1, 0], [0, 1], [0, 1], [0, 1]]
    # expert 0: first choices of tokens 1, 2, 3 take slots 0-2, token 0's second choice is 4th
    # expert 1: token 0's first choice, then the second choices of tokens 1, 2, 3
    assert r.position.tolist() == [[0, 3], [0, 1], [1, 2], [2, 3]]
    assert r.keep.tolist() == [[True, False], [True, True], [True, True], [True, False]]
    # gates renormalised over the chosen two: e^3 / (e^3 + e^2)
    assert torch.allclose(r.gates.sum(dim=-1), torch.ones(4))
    assert r.gates[0, 0] == pytest.approx(math.exp(3) / (math.exp(3) + math.exp(2)), rel=1e-6)
    assert r.dropped_fraction() == pytest.approx(2 / 8)


def test_router_shapes():
    router = Router(d_model=5, n_experts=4, k=2, capacity_factor=2.0)
    r = router(torch.randn(12, 5))
    assert r.probs.shape == (12, 4) and r.expert_index.shape == (12, 2)
    assert torch.allclose(r.probs.sum(-1), torch.ones(12))
    assert r.capacity == 12 and r.keep.all()  # ceil(2.0 * 12 * 2 / 4)


# ---------------------------------------------------------------------- load-balancing loss


def test_load_balancing_loss_is_one_for_uniform_routing():
    torch.manual_seed(0)
    probs = torch.randn(8, 4).softmax(-1)  # any probabilities: f is uniform, sum_i P_i = 1
    index = torch.arange(8) % 4
    assert float(load_balancing_loss(probs, index)) == pytest.approx(1.0, abs=1e-6)
    uniform = torch.full((8, 4), 0.25)
    assert float(load_balancing_loss(uniform, index[:, None])) == pytest.approx(1.0)


def test_load_balancing_loss_exceeds_one_for_collapsed_routing():
    probs = torch.tensor([[0.9, 0.05, 0.05]]).repeat(6, 1)
    index = torch.zeros(6, dtype=torch.long)
    assert float(load_balancing_loss(probs, index)) == pytest.approx(3 * 0.9)


def test_load_balancing_loss_matches_a_hand_computation():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.5, 0.1, 0.4], [0.3, 0.3, 0.4]])
    index = torch.tensor([[0, 1], [1, 2], [0, 2], [2, 0]])  # only first choices count
    f = [2 / 4, 1 / 4, 1 / 4]
    p = [1.6 / 4, 1.2 / 4, 1.2 / 4]
    expected = 3 * sum(fi * pi for fi, pi in zip(f, p, strict=True))
    probs.requires_grad_(True)
    loss = load_balancing_loss(probs, index)
    assert loss.item() == pytest.approx(expected)
    assert loss.item() == pytest.approx(load_balancing_loss(probs, index[:, 0]).item())
    loss.backward()  # d loss / d probs[t, i] = E * f_i / tokens
    assert torch.allclose(probs.grad, (3 * torch.tensor(f) / 4).expand(4, 3))


@pytest.mark.parametrize(
    "probs, index, error, match",
    [
        (torch.full((4,), 0.25), torch.zeros(4, dtype=torch.long), ValueError, "router_probs"),
        (torch.full((4, 2), 0.5), torch.zeros(3, dtype=torch.long), ValueError, "token counts"),
        (torch.full((4, 2), 0.5), torch.full((4,), 2), ValueError, r"\[0, 2\)"),
        (torch.full((4, 2), 0.5), torch.zeros(4), TypeError, "expert_index"),
        (torch.full((4, 2), 0.5), torch.zeros(4, 1, 1, dtype=torch.long), ValueError, "k"),
        (torch.full((4, 2), 3.0), torch.zeros(4, dtype=torch.long), ValueError, "logits"),
        (torch.ones(4, 2, dtype=torch.long), torch.zeros(4, dtype=torch.long), TypeError, "float"),
        ([[0.5, 0.5]], torch.zeros(1, dtype=torch.long), TypeError, "router_probs"),
    ],
)
def test_load_balancing_loss_bad_inputs(probs, index, error, match):
    with pytest.raises(error, match=match):
        load_balancing_loss(probs, index)


def test_utilisation_cv():
    assert utilisation_cv(torch.tensor([5, 5, 5, 5])) == 0.0
    assert utilisation_cv(torch.tensor([8, 0, 0, 0])) == pytest.approx(math.sqrt(3))


# ------------------------------------------------------------------------------------ the layer


def test_one_expert_with_room_for_all_is_a_plain_mlp():
    torch.manual_seed(0)
    moe = MoEFeedForward(d_model=6, d_ff=10, n_experts=1, capacity_factor=1.0)
    mlp = nn.Sequential(nn.Linear(6, 10), nn.GELU(), nn.Linear(10, 6))
    mlp.load_state_dict(moe.experts[0].state_dict())
    x = torch.randn(3, 5, 6)
    assert torch.allclose(moe(x), mlp(x), atol=1e-6)
    assert moe.last_stats.dropped_fraction == 0.0 and moe.last_stats.counts.tolist() == [15]
    assert moe.aux_loss.item() == pytest.approx(1.0)


def test_moe_block_with_one_expert_is_the_transformer_block():
    torch.manual_seed(0)
    config = TransformerConfig(d_model=8, n_heads=2, d_ff=12)
    moe, dense = moe_block(config, n_experts=1, capacity_factor=1.0), TransformerBlock(config)
    state = {k.replace("mlp.experts.0.", "mlp."): v for k, v in moe.state_dict().items()}
    dense.load_state_dict({k: v for k, v in state.items() if "router" not in k})
    x = torch.randn(2, 4, 8)
    assert torch.allclose(moe(x), dense(x), atol=1e-6)


def test_dropped_tokens_get_zero_output_and_stats_add_up():
    torch.manual_seed(0)
    moe = MoEFeedForward(d_model=4, d_ff=8, n_experts=2, k=1, capacity_factor=0.25)
    x = torch.randn(2, 8, 4)
    out = moe(x).reshape(16, 4)
    routing = moe.last_routing
    assert routing.capacity == 2  # ceil(0.25 * 16 / 2)
    dropped = ~routing.keep[:, 0]
    assert dropped.sum() >= 12  # at most 2 tokens per expert are processed
    assert (out[dropped] == 0).all() and (out[~dropped] != 0).any(dim=-1).all()
    stats = moe.last_stats
    assert int(stats.counts.sum()) == 16 and int(stats.kept.sum()) == int((~dropped).sum())
    assert stats.dropped_fraction == pytest.approx(float(dropped.float().mean()))
    assert float(stats.fractions.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("k", [1, 2])
def test_gradients_reach_the_router_and_every_used_expert(k):
    torch.manual_seed(0)
    moe = MoEFeedForward(d_model=6, d_ff=8, n_experts=4, k=k, capacity_factor=2.0)
    moe(torch.randn(2, 10, 6)).pow(2).sum().backward()  # through the gates only
    assert moe.router.proj.weight.grad.abs().sum() > 0
    used = moe.last_stats.kept > 0
    for e, expert in enumerate(moe.experts):
        assert (expert[0].weight.grad is not None) == bool(used[e])
    moe.zero_grad()
    moe(torch.randn(2, 10, 6))
    moe.aux_loss.backward()  # the balancing loss alone reaches the router too
    assert moe.router.proj.weight.grad.abs().sum() > 0


def test_bad_inputs_name_the_argument():
    moe = MoEFeedForward(d_model=4, d_ff=8, n_experts=3)
    with pytest.raises(ValueError, match="x: expected 3 dims"):
        moe(torch.randn(5, 4))
    with pytest.raises(ValueError, match="x.d=5"):
        moe(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="k: expected an int in \\[1, 3\\]"):
        MoEFeedForward(d_model=4, d_ff=8, n_experts=3, k=4)
    with pytest.raises(ValueError, match="capacity_factor"):
        MoEFeedForward(d_model=4, d_ff=8, n_experts=3, capacity_factor=0)
    with pytest.raises(ValueError, match="n_experts"):
        Router(d_model=4, n_experts=0)
    with pytest.raises(TypeError, match="logits"):
        top_k_routing(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="tokens: length 9 exceeds max_len"):
        TokenTagger(5, 3, max_len=8)(torch.zeros(2, 9, dtype=torch.long))


# ---------------------------------------------------------------------- models and parameters


def test_tagger_shapes_and_active_parameters():
    config = TransformerConfig(d_model=8, n_heads=2, d_ff=16)
    dense = TokenTagger(10, 4, max_len=6, config=config, n_layers=2)
    moe = TokenTagger(10, 4, max_len=6, config=config, n_layers=2, n_experts=5, k=2)
    tokens = torch.randint(0, 10, (3, 6))
    assert dense(tokens).shape == moe(tokens).shape == (3, 6, 4)
    assert float(dense.aux_loss()) == 0.0 and len(moe_layers(moe)) == 2
    assert moe.aux_loss().item() >= 2.0 - 1e-6  # one loss >= 1 per layer
    expert = 8 * 16 + 16 + 16 * 8 + 8
    router = 8 * 5 + 5
    assert count_parameters(dense) == active_parameters(dense)
    # k=2 experts are active, so the MoE's active count is the dense one plus an expert + router
    assert active_parameters(moe) == active_parameters(dense) + 2 * (expert + router)
    assert parameter_counts(moe) == {
        "total": active_parameters(moe) + 2 * 3 * expert,
        "active": active_parameters(moe),
    }


# ----------------------------------------------------------------------------- the experiment


def test_small_experiment_returns_the_documented_keys():
    config = MoEExperimentConfig(n_val=8, n_test=16, batch_size=8, threads=2)
    threads = torch.get_num_threads()
    out = moe_experiment(seed=0, steps=3, config=config)
    assert torch.get_num_threads() == threads  # restored
    assert set(out) == {"runs", "wall_seconds", "settings"}
    assert tuple(out["runs"]) == RUNS
    common = {"test_accuracy", "val_accuracy", "params_total", "params_active", "seconds", "loss"}
    common |= {"test_wrong", "test_sequence"}
    routed = {"expert_fractions", "utilisation_cv", "max_load", "dropped_fraction"}
    curves = {"aux_loss", "train_cv", "train_dropped"}
    for name, result in out["runs"].items():
        expected = common if name == "dense" else common | routed | curves
        assert set(result) == expected
        assert 0 <= result["test_accuracy"] <= 1 and len(result["loss"]) == 3
        wrong, sequence = result["test_wrong"], result["test_sequence"]
        assert wrong.dtype == torch.bool and wrong.shape == sequence.shape
        assert 1 - wrong.float().mean().item() == pytest.approx(result["test_accuracy"])
        assert set(sequence.tolist()) <= set(range(config.n_test))
    moe, dense = out["runs"]["moe"], out["runs"]["dense"]
    assert len(moe["expert_fractions"]) == config.n_experts
    assert sum(moe["expert_fractions"]) == pytest.approx(1.0)
    assert moe["params_active"] == dense["params_active"] + config.d_model * config.n_experts + (
        config.n_experts
    )
    assert moe["params_total"] > 5 * dense["params_total"] // 2
    assert out["settings"]["table_size"] == config.task.table_size


def test_experiment_can_add_the_wide_dense_model():
    config = MoEExperimentConfig(n_experts=4, d_ff=8, n_val=8, n_test=8, batch_size=8)
    out = moe_experiment(seed=1, steps=2, config=config, runs=("dense", "dense_wide"))
    dense, wide = out["runs"]["dense"], out["runs"]["dense_wide"]
    mlp = 2 * config.d_model * config.d_ff  # weights of one expert-sized MLP
    assert wide["params_total"] - dense["params_total"] == 3 * mlp + 3 * config.d_ff
    assert wide["params_active"] == wide["params_total"]


def test_experiment_rejects_bad_arguments():
    with pytest.raises(ValueError, match="runs"):
        moe_experiment(steps=1, runs=("sparse",))
    with pytest.raises(ValueError, match="threads"):
        MoEExperimentConfig(threads=0)
    with pytest.raises(ValueError, match="k: expected an int in \\[1, 16\\]"):
        MoEExperimentConfig(k=17)
