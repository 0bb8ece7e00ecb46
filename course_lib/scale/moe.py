"""A mixture-of-experts feed-forward layer: many MLPs ("experts"), each token sent to ``k`` of
them by a learned router, so parameters grow with the number of experts while the compute per
token does not (Shazeer et al. 2017, "Outrageously large neural networks"; Fedus et al. 2021,
"Switch Transformers").

- :func:`top_k_routing` / :class:`Router`: a linear layer ``d_model -> n_experts``, a softmax,
  the top ``k`` experts of every token (``k=1``: Switch, ``k=2``: Shazeer's top-2) and their
  gates (Switch: the chosen probability; ``k > 1``: renormalised over the chosen ``k``). Every
  expert takes at most ``capacity = ceil(capacity_factor * tokens * k / n_experts)`` tokens;
  slots are filled in token order (all first choices, then all second choices, as GShard does)
  and a token over capacity is *dropped*: that choice contributes zero, so the residual
  connection carries the token on unchanged.
- :func:`load_balancing_loss`: Switch's auxiliary loss ``E * sum_i f_i * P_i``, 1 when the
  routing is perfectly balanced, up to ``E`` when it has collapsed onto one expert. (Shazeer's
  noisy gating and importance loss are left out: Switch's loss does the same job more simply.)
- :class:`MoEFeedForward`: the layer; it keeps its last routing numbers in ``last_stats`` and
  its auxiliary loss (with its graph, to be added to the training loss) in ``aux_loss``.
- :func:`moe_block` / :class:`TokenTagger`: a transformer block whose MLP is an MoE (lesson 03's
  :class:`~course_lib.core.transformer.TransformerBlock` with its MLP swapped), and a small
  per-position classifier built from such blocks or from dense ones with the size of one expert:
  the same *active* parameters per token (:func:`parameter_counts`).
- :func:`moe_experiment`: dense vs MoE vs MoE with the balancing loss on the bigram-lookup
  memorisation task of :mod:`course_lib.data.lookup`. Measured (defaults: 16 experts, 600
  steps; seeds 0, 1, 2; 15.5 s for the three runs on one thread): test accuracy 0.49 dense,
  0.86 / 0.86 / 0.92 MoE, 0.95 / 0.96 / 0.96 MoE with the balancing loss; utilisation CV
  0.62 / 0.73 / 0.43 without it, 0.34 / 0.33 / 0.28 with it; dropped choices 16 / 18 / 9 %
  without, 6 / 5 / 4 % with. The gain is per FLOP, not per CPU second: here a MoE step takes
  about three dense ones (the loop over experts), dense given 1,700 steps reaches 0.83-0.84,
  and ``"dense_wide"`` (all the experts' parameters in one MLP) reaches 1.0 in 600 steps.

Shapes: ``x`` (batch, T, d_model) for the layer, flattened to (tokens, d_model) for routing;
``probs`` (tokens, E); ``expert_index``, ``gates``, ``keep``, ``position`` (tokens, k).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.shapes import (
    expect_int,
    expect_match,
    expect_positive_int,
    expect_shape,
    expect_tensor,
)
from course_lib.core.transformer import TransformerBlock, TransformerConfig
from course_lib.data.lookup import IGNORE, LookupConfig, lookup_task
from course_lib.train.loops import StepConfig, train_steps
from course_lib.train.utils import count_parameters, seed_everything


def _positive_number(value: object, name: str) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (ok and math.isfinite(float(value)) and float(value) > 0):  # type: ignore[arg-type]
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def expert_capacity(tokens: int, n_experts: int, k: int = 1, capacity_factor: float = 1.25) -> int:
    """Slots per expert: ``ceil(capacity_factor * tokens * k / n_experts)``."""
    expect_positive_int(tokens, "tokens")
    expect_positive_int(n_experts, "n_experts")
    expect_positive_int(k, "k", maximum=n_experts, note="at most n_experts")
    capacity_factor = _positive_number(capacity_factor, "capacity_factor")
    # the small epsilon keeps 1.1 * 100 / 10 = 11.000000000000002 at 11 slots
    return max(1, math.ceil(capacity_factor * tokens * k / n_experts - 1e-9))


@dataclass(frozen=True)
class Routing:
    """Where every token goes. ``probs`` (tokens, E): the router's softmax; ``expert_index``
    (tokens, k): its chosen experts, best first; ``gates`` (tokens, k): their weights;
    ``position`` (tokens, k): the slot the choice takes in its expert (0, 1, ... in token order,
    first choices before second ones); ``keep`` (tokens, k): ``position < capacity``."""

    probs: torch.Tensor
    expert_index: torch.Tensor
    gates: torch.Tensor
    position: torch.Tensor
    keep: torch.Tensor
    capacity: int

    @property
    def n_experts(self) -> int:
        return self.probs.shape[-1]

    def counts(self) -> torch.Tensor:
        """(E,) int64: choices routed to every expert, before dropping."""
        return torch.bincount(self.expert_index.flatten(), minlength=self.n_experts)  # (E,)

    def kept_counts(self) -> torch.Tensor:
        """(E,) int64: choices every expert actually processes (at most ``capacity``)."""
        kept = self.expert_index[self.keep]  # (kept,)
        return torch.bincount(kept, minlength=self.n_experts)  # (E,)

    def dropped_fraction(self) -> float:
        """Fraction of the ``tokens * k`` choices dropped for lack of capacity."""
        return 1.0 - float(self.keep.float().mean())


def top_k_routing(logits: torch.Tensor, k: int = 1, capacity_factor: float = 1.25) -> Routing:
    """Route ``tokens`` by the router's ``logits`` (tokens, E): softmax, top ``k``, gates,
    capacity and dropping (see the module docstring). ``k=1`` gates are the chosen
    probabilities (Switch); ``k > 1`` gates are the chosen ones renormalised to sum to 1."""
    sizes = expect_shape(logits, "tokens, n_experts", name="logits")
    if not logits.is_floating_point():
        raise TypeError(f"logits: expected a floating-point tensor, got {logits.dtype}")
    tokens, n_experts = sizes["tokens"], sizes["n_experts"]
    capacity = expert_capacity(tokens, n_experts, k, capacity_factor)
    dtype = torch.promote_types(logits.dtype, torch.float32)  # at least float32, as Switch does
    probs = logits.softmax(dim=-1, dtype=dtype)  # (tokens, E)
    top_p, expert_index = probs.topk(k, dim=-1)  # (tokens, k) each, best first
    gates = top_p if k == 1 else top_p / top_p.sum(dim=-1, keepdim=True)  # (tokens, k)
    chosen = F.one_hot(expert_index, n_experts)  # (tokens, k, E)
    by_rank = chosen.transpose(0, 1).reshape(k * tokens, n_experts)  # (k*tokens, E) rank-major
    slot = (by_rank.cumsum(dim=0) * by_rank).sum(dim=-1) - 1  # (k*tokens,) place in its expert
    position = slot.reshape(k, tokens).transpose(0, 1)  # (tokens, k)
    return Routing(probs, expert_index, gates, position, position < capacity, capacity)


class Router(nn.Module):
    """``forward(x (tokens, d_model)) -> Routing``: a linear layer to ``n_experts`` logits, then
    :func:`top_k_routing`."""

    def __init__(
        self, d_model: int, n_experts: int, k: int = 1, capacity_factor: float = 1.25
    ) -> None:
        super().__init__()
        expect_positive_int(d_model, "d_model")
        expect_positive_int(n_experts, "n_experts")
        self.k = expect_positive_int(k, "k", maximum=n_experts, note="at most n_experts")
        self.capacity_factor = _positive_number(capacity_factor, "capacity_factor")
        self.proj = nn.Linear(d_model, n_experts)

    def forward(self, x: torch.Tensor) -> Routing:
        sizes = expect_shape(x, "tokens, d_model", name="x")
        expect_match(
            "x and router feature sizes",
            {"x.d": sizes["d_model"], "d_model": self.proj.in_features},
        )
        return top_k_routing(self.proj(x), self.k, self.capacity_factor)  # logits (tokens, E)


def load_balancing_loss(router_probs: torch.Tensor, expert_index: torch.Tensor) -> torch.Tensor:
    """Switch's auxiliary loss ``E * sum_i f_i * P_i`` (a scalar tensor).

    ``router_probs`` (tokens, E): the router's softmax, rows summing to 1; ``expert_index``
    (tokens, k) or (tokens,): the chosen experts, best first. ``f_i``: fraction of tokens whose
    *first* choice is expert ``i`` (counted, so no gradient); ``P_i``: the mean probability of
    expert ``i`` (differentiable). Perfectly balanced routing gives 1; everything on one expert
    that the router is sure of gives ``E``. Gradients push ``P_i`` down where ``f_i`` is large.
    """
    sizes = expect_shape(router_probs, "tokens, n_experts", name="router_probs")
    if not router_probs.is_floating_point():
        raise TypeError(f"router_probs: expected a floating-point tensor, got {router_probs.dtype}")
    tokens, n_experts = sizes["tokens"], sizes["n_experts"]
    if tokens == 0:
        raise ValueError("router_probs: expected at least one token, got shape (0, E)")
    expert_index = expect_tensor(expert_index, "expert_index")
    if expert_index.dim() == 1:
        expert_index = expert_index[:, None]  # (tokens, 1)
    index_sizes = expect_shape(expert_index, "tokens, k", name="expert_index")
    expect_match(
        "router_probs and expert_index token counts",
        {"router_probs.tokens": tokens, "expert_index.tokens": index_sizes["tokens"]},
    )
    if index_sizes["k"] == 0:
        raise ValueError(
            "expert_index: expected at least one choice per token, got shape (tokens, 0)"
        )
    if expert_index.is_floating_point() or expert_index.dtype == torch.bool:
        raise TypeError(f"expert_index: expected an integer tensor, got {expert_index.dtype}")
    if int(expert_index.min()) < 0 or int(expert_index.max()) >= n_experts:
        raise ValueError(
            f"expert_index: expected values in [0, {n_experts}) "
            f"(n_experts = router_probs.shape[1]), "
            f"got min {int(expert_index.min())}, max {int(expert_index.max())}"
        )
    row_sums = router_probs.detach().sum(dim=-1)  # (tokens,)
    if (router_probs.detach() < 0).any() or not torch.allclose(
        row_sums, torch.ones_like(row_sums), atol=1e-3
    ):
        raise ValueError(
            "router_probs: expected probabilities (rows >= 0 summing to 1); "
            "were logits passed by mistake?"
        )
    first = expert_index[:, 0]  # (tokens,) first choices
    f = torch.bincount(first, minlength=n_experts).to(router_probs.dtype) / tokens  # (E,)
    p = router_probs.mean(dim=0)  # (E,)
    return n_experts * (f * p).sum()  # scalar


@dataclass(frozen=True)
class MoEStats:
    """One forward pass's routing: ``counts`` (E,) choices routed to each expert, ``kept`` (E,)
    those processed, ``capacity`` slots per expert, ``dropped_fraction`` of the choices,
    ``aux_loss`` (the value of :func:`load_balancing_loss`)."""

    counts: torch.Tensor
    kept: torch.Tensor
    capacity: int
    dropped_fraction: float
    aux_loss: float

    @property
    def fractions(self) -> torch.Tensor:
        """(E,) fraction of the routed choices that go to each expert (sums to 1)."""
        return self.counts.float() / self.counts.sum().clamp(min=1)  # (E,)

    @property
    def cv(self) -> float:
        """Coefficient of variation of the fractions: 0 when balanced, ``sqrt(E - 1)`` when
        collapsed onto one expert."""
        return utilisation_cv(self.counts)


def utilisation_cv(counts: torch.Tensor) -> float:
    """Coefficient of variation (std / mean, population std) of per-expert counts (E,)."""
    expect_shape(counts, "n_experts", name="counts")
    c = counts.float()  # (E,)
    return float(c.std(correction=0) / c.mean().clamp(min=1e-12))


def _mlp(d_model: int, d_ff: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))


class MoEFeedForward(nn.Module):
    """``n_experts`` MLPs (``Linear(d_model, d_ff)``-GELU-``Linear(d_ff, d_model)``) behind a
    top-``k`` :class:`Router`. ``forward(x (batch, T, d_model)) -> (batch, T, d_model)``: every
    token's output is the gate-weighted sum of its kept experts' outputs (zero if all dropped).
    After a forward: ``aux_loss`` (scalar tensor with its graph, for the training loss),
    ``last_stats`` (:class:`MoEStats`) and ``last_routing`` (:class:`Routing`), detached."""

    def __init__(
        self,
        d_model: int,
        d_ff: int,
        n_experts: int,
        k: int = 1,
        capacity_factor: float = 1.25,
    ) -> None:
        super().__init__()
        expect_positive_int(d_ff, "d_ff")
        self.router = Router(d_model, n_experts, k, capacity_factor)
        self.experts = nn.ModuleList(_mlp(d_model, d_ff) for _ in range(n_experts))
        self.d_model, self.n_experts, self.k = d_model, n_experts, k
        self.aux_loss: torch.Tensor | None = None
        self.last_stats: MoEStats | None = None
        self.last_routing: Routing | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(x, "batch, T, d_model", name="x")
        expect_match(
            "x and layer feature sizes", {"x.d": sizes["d_model"], "d_model": self.d_model}
        )
        flat = x.reshape(-1, self.d_model)  # (tokens, d)
        routing = self.router(flat)
        out = torch.zeros_like(flat)  # (tokens, d): dropped tokens stay zero
        for e, expert in enumerate(self.experts):
            mine = (routing.expert_index == e) & routing.keep  # (tokens, k)
            token, choice = mine.nonzero(as_tuple=True)  # (n_e,), (n_e,) in token order
            if token.numel() == 0:
                continue
            y = expert(flat.index_select(0, token))  # (n_e, d)
            gate = routing.gates[token, choice].to(y.dtype)  # (n_e,)
            out = out.index_add(0, token, y * gate[:, None])  # (tokens, d)
        # (tokens,) first choices: all f_i counts, and the exercise's signature
        self.aux_loss = load_balancing_loss(routing.probs, routing.expert_index[:, 0])
        self.last_routing = replace(  # kept for plots and tests, without the graph
            routing, probs=routing.probs.detach(), gates=routing.gates.detach()
        )
        self.last_stats = MoEStats(
            counts=routing.counts(),
            kept=routing.kept_counts(),
            capacity=routing.capacity,
            dropped_fraction=routing.dropped_fraction(),
            aux_loss=float(self.aux_loss.detach()),
        )
        return out.reshape(x.shape)  # (batch, T, d)


def moe_block(
    config: TransformerConfig, n_experts: int, k: int = 1, capacity_factor: float = 1.25
) -> TransformerBlock:
    """Lesson 03's pre-norm :class:`~course_lib.core.transformer.TransformerBlock` with its MLP
    replaced by an :class:`MoEFeedForward` of ``n_experts`` experts of ``config.d_ff`` hidden
    units: ``x + Attn(LN(x))``, then ``x + MoE(LN(x))``; (batch, T, d_model) in and out."""
    block = TransformerBlock(config)
    block.mlp = MoEFeedForward(config.d_model, config.d_ff, n_experts, k, capacity_factor)
    return block


def moe_layers(model: nn.Module) -> list[MoEFeedForward]:
    """The :class:`MoEFeedForward` layers of ``model``, in order."""
    return [m for m in model.modules() if isinstance(m, MoEFeedForward)]


class TokenTagger(nn.Module):
    """A label per position: symbol embeddings plus learned positions, ``n_layers`` pre-norm
    blocks, a final LayerNorm and a linear head; ``forward(tokens (batch, T)) -> logits
    (batch, T, n_classes)``. ``config``: lesson 03's default when None. ``n_experts=None``:
    dense blocks (an MLP of ``config.d_ff`` hidden units, the size of one expert); else
    :func:`moe_block` blocks."""

    def __init__(
        self,
        n_symbols: int,
        n_classes: int,
        max_len: int,
        config: TransformerConfig | None = None,
        n_layers: int = 1,
        n_experts: int | None = None,
        k: int = 1,
        capacity_factor: float = 1.25,
    ) -> None:
        super().__init__()
        for name, value in (("n_symbols", n_symbols), ("n_classes", n_classes)):
            expect_positive_int(value, name)
        self.max_len = expect_positive_int(max_len, "max_len")
        expect_positive_int(n_layers, "n_layers")
        config = config or TransformerConfig()
        d = config.d_model
        self.embed, self.pos = nn.Embedding(n_symbols, d), nn.Embedding(max_len, d)
        if n_experts is None:
            blocks = [TransformerBlock(config) for _ in range(n_layers)]
        else:
            blocks = [moe_block(config, n_experts, k, capacity_factor) for _ in range(n_layers)]
        self.blocks = nn.ModuleList(blocks)
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(tokens, "batch, T", name="tokens")
        if sizes["T"] > self.max_len:
            raise ValueError(f"tokens: length {sizes['T']} exceeds max_len = {self.max_len}")
        positions = torch.arange(sizes["T"], device=tokens.device)  # (T,)
        x = self.embed(tokens) + self.pos(positions)  # (batch, T, d)
        for block in self.blocks:
            x = block(x)  # (batch, T, d)
        return self.head(self.norm(x))  # (batch, T, n_classes)

    def aux_loss(self) -> torch.Tensor:
        """Sum of the MoE layers' balancing losses from the last forward (0 if dense)."""
        losses = [m.aux_loss for m in moe_layers(self) if m.aux_loss is not None]
        return torch.stack(losses).sum() if losses else torch.zeros(())


def active_parameters(model: nn.Module) -> int:
    """Trainable parameters one token uses: all of them, less the ``n_experts - k`` experts
    every MoE layer skips (all experts have the same size). Embedding tables count whole, as
    papers count them."""
    skipped = 0
    for layer in moe_layers(model):
        per_expert = count_parameters(layer.experts[0])
        skipped += (layer.n_experts - layer.k) * per_expert
    return count_parameters(model) - skipped


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """``{"total": ..., "active": ...}``: trainable parameters, and those one token uses."""
    return {"total": count_parameters(model), "active": active_parameters(model)}


# ----------------------------------------------------------------------------------- experiment

#: The three runs of :func:`moe_experiment`.
RUNS = ("moe", "moe_balanced", "dense")
#: Runs :func:`moe_experiment` can add on request: ``"dense_wide"``, one MLP as wide as all the
#: experts together (the same *total* parameters, ``n_experts`` times the compute per token).
EXTRA_RUNS = ("dense_wide",)


@dataclass(frozen=True)
class MoEExperimentConfig:
    """Sizes of :func:`moe_experiment`: the task, the model (one block of ``d_model`` features,
    experts and the dense MLP of ``d_ff`` hidden units), routing, training (AdamW at ``lr``,
    warm-up, cosine decay, fresh batches of ``batch_size`` sequences) and evaluation sets.
    ``threads``: torch's threads during the run, restored after (``None``: as they are). One by
    default: the MoE's many small ops gain nothing from more, and on a busy 2-core machine 2
    threads took more than twice as long as 1."""

    task: LookupConfig = field(default_factory=LookupConfig)
    d_model: int = 32
    n_heads: int = 2
    d_ff: int = 32
    n_experts: int = 16
    k: int = 1
    capacity_factor: float = 1.25
    balance_coef: float = 0.01
    batch_size: int = 64
    lr: float = 2e-2
    n_val: int = 512
    n_test: int = 2048
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.threads is not None:
            expect_positive_int(self.threads, "threads")
        for name in ("d_model", "n_heads", "d_ff", "n_experts", "batch_size", "n_val", "n_test"):
            expect_positive_int(getattr(self, name), name)
        expect_positive_int(self.k, "k", maximum=self.n_experts, note="at most n_experts")
        _positive_number(self.capacity_factor, "capacity_factor")
        _positive_number(self.lr, "lr")
        if not (isinstance(self.balance_coef, (int, float)) and self.balance_coef > 0):
            raise ValueError(f"balance_coef: expected a number > 0, got {self.balance_coef!r}")


def _evaluate(
    model: TokenTagger, tokens: torch.Tensor, labels: torch.Tensor, batch_size: int
) -> dict[str, object]:
    """Accuracy on the labelled positions, each position's mistake and its sequence (for
    paired tests), and (MoE) routing counts summed over layers, batch by batch as in training
    (capacity depends on the batch)."""
    model.eval()
    counts = kept = None
    wrong, sequence = [], []
    with torch.no_grad():
        for start in range(0, len(tokens), batch_size):
            x, y = tokens[start : start + batch_size], labels[start : start + batch_size]
            pred = model(x).argmax(dim=-1)  # (b, T)
            mask = y != IGNORE  # (b, T)
            wrong.append((pred != y)[mask])  # (labelled,) bool
            rows = torch.arange(start, start + len(x))[:, None].expand_as(mask)  # (b, T)
            sequence.append(rows[mask])  # (labelled,) which test sequence
            for layer in moe_layers(model):
                assert layer.last_stats is not None
                c, kc = layer.last_stats.counts, layer.last_stats.kept
                counts = c if counts is None else counts + c
                kept = kc if kept is None else kept + kc
    all_wrong = torch.cat(wrong)  # (labelled positions,)
    total = len(all_wrong)
    out: dict[str, object] = {
        "accuracy": (total - int(all_wrong.sum())) / total,
        "wrong": all_wrong,
        "sequence": torch.cat(sequence),
    }
    if counts is not None and kept is not None:
        out["expert_fractions"] = (counts.float() / counts.sum()).tolist()
        out["utilisation_cv"] = utilisation_cv(counts)
        out["max_load"] = float(counts.max() * len(counts) / counts.sum())
        out["dropped_fraction"] = 1.0 - float(kept.sum() / counts.sum())
    return out


def moe_experiment(
    seed: int = 0,
    steps: int = 600,
    config: MoEExperimentConfig | None = None,
    runs: tuple[str, ...] = RUNS,
) -> dict[str, object]:
    """Train the ``runs`` (default all three) of one block :class:`TokenTagger` on the bigram
    lookup task (:mod:`course_lib.data.lookup`) for ``steps`` AdamW steps each, fresh training
    sequences every step, the same seed for every run:

    - ``"moe"``: ``n_experts`` experts, top-``k``, no balancing loss;
    - ``"moe_balanced"``: the same with ``balance_coef * load_balancing_loss`` added;
    - ``"dense"``: one MLP the size of one expert: the same active parameters per token (less
      the router's ``d_model * n_experts + n_experts``);
    - ``"dense_wide"`` (only if asked for): one MLP of ``n_experts * d_ff`` hidden units.

    Returns ``{"runs": {name: result}, "wall_seconds": ..., "settings": {...}}``; every result
    has ``test_accuracy``, ``val_accuracy``, ``params_total``, ``params_active``, ``seconds``
    (training only), ``loss`` (per-step cross-entropy), ``test_wrong`` (labelled test positions,)
    bool and ``test_sequence`` (the test sequence of each position: the ``groups`` of
    :func:`course_lib.train.stats.paired`); MoE runs add, measured on the test set,
    ``expert_fractions`` (E floats, sum 1), ``utilisation_cv`` (std/mean of the per-expert
    counts: 0 = balanced), ``max_load`` (busiest expert's share times E: 1 = balanced),
    ``dropped_fraction``, and per training step ``aux_loss``, ``train_cv`` and
    ``train_dropped`` (of the training batch). ``wall_seconds``: all of it, evaluation
    included. Validation and test sequences come from their own seeds, never trained on (the
    table is the same: the test measures how much of it was remembered)."""
    expect_int(seed, "seed")
    expect_positive_int(steps, "steps")
    c = config or MoEExperimentConfig()
    for name in runs:
        if name not in RUNS + EXTRA_RUNS:
            raise ValueError(f"runs: expected names from {RUNS + EXTRA_RUNS}, got {name!r}")
    threads = torch.get_num_threads()
    torch.set_num_threads(c.threads or threads)
    try:
        return _experiment(seed, steps, c, runs)
    finally:
        torch.set_num_threads(threads)


def _experiment(
    seed: int, steps: int, c: MoEExperimentConfig, runs: tuple[str, ...]
) -> dict[str, object]:
    task = c.task
    base = seed * 2**32  # data seeds of one experiment seed: base, base + 1, base + 2 + epoch
    val_tokens, val_labels = lookup_task(c.n_val, task, seed=base)
    test_tokens, test_labels = lookup_task(c.n_test, task, seed=base + 1)
    model_config = TransformerConfig(d_model=c.d_model, n_heads=c.n_heads, d_ff=c.d_ff)

    def batches(epoch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        # one fresh batch per "epoch", drawn from a seed of its own (never the val/test seeds)
        return [lookup_task(c.batch_size, task, seed=base + 2 + epoch)]

    results: dict[str, dict[str, object]] = {}
    wall = time.perf_counter()
    for name in runs:
        seed_everything(seed)
        experts = None if name.startswith("dense") else c.n_experts
        d_ff = c.n_experts * c.d_ff if name == "dense_wide" else c.d_ff
        model = TokenTagger(
            task.n_symbols,
            task.n_classes,
            max_len=task.length,
            config=replace(model_config, d_ff=d_ff),
            n_experts=experts,
            k=c.k,
            capacity_factor=c.capacity_factor,
        )
        coef = c.balance_coef if name == "moe_balanced" else 0.0

        def loss_fn(
            model: TokenTagger, tokens: torch.Tensor, labels: torch.Tensor, coef: float = coef
        ) -> tuple[torch.Tensor, dict[str, float]]:
            logits = model(tokens)  # (b, T, C)
            ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)
            layers = moe_layers(model)
            if not layers:
                return ce, {}
            aux = model.aux_loss()
            stats = layers[0].last_stats
            assert stats is not None
            record = {
                "cross_entropy": float(ce.detach()),
                "aux_loss": float(aux.detach()),
                "train_cv": stats.cv,
                "train_dropped": stats.dropped_fraction,
            }
            return ce + coef * aux, record

        step_config = StepConfig(
            steps=steps, lr=c.lr, warmup=min(50, steps - 1), decay="cosine", seed=seed
        )
        history = train_steps(model, loss_fn, batches, step_config, desc=name)
        test = _evaluate(model, test_tokens, test_labels, c.batch_size)
        val = _evaluate(model, val_tokens, val_labels, c.batch_size)
        counts = parameter_counts(model)
        result: dict[str, object] = {
            "test_accuracy": test.pop("accuracy"),
            "test_wrong": test.pop("wrong"),
            "test_sequence": test.pop("sequence"),
            "val_accuracy": val["accuracy"],
            "params_total": counts["total"],
            "params_active": counts["active"],
            "seconds": history.seconds,
            "loss": history.records.get("cross_entropy", history.loss),
        }
        result.update(test)
        for key in ("aux_loss", "train_cv", "train_dropped"):
            if key in history.records:
                result[key] = history.records[key]
        results[name] = result
    return {
        "runs": results,
        "wall_seconds": time.perf_counter() - wall,
        "settings": {
            "seed": seed,
            "steps": steps,
            "table_size": task.table_size,
            "n_experts": c.n_experts,
            "k": c.k,
            "capacity_factor": c.capacity_factor,
            "balance_coef": c.balance_coef,
        },
    }
