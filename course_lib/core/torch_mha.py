"""The course's :class:`~course_lib.core.transformer.MultiHeadAttention` and PyTorch's
``torch.nn.MultiheadAttention`` are the same function: copy the weights across and compare.

The two modules hold the same four projections in different containers: ours has ``q_proj``,
``k_proj``, ``v_proj`` and ``out_proj`` (each ``nn.Linear(d, d)``); torch stacks the first three
into one ``in_proj_weight`` (3d, d) and ``in_proj_bias`` (3d,). Their masks mean opposite
things: ours is ``True`` = *may attend*; torch's boolean ``attn_mask`` and ``key_padding_mask``
are ``True`` = *may not attend*. :func:`torch_mask_args` translates.

Shapes: ``query`` (batch, T, d_model), ``key``/``value`` (batch, S, d_model), ``mask`` bool
broadcastable to (batch, T, S), ``key_lengths`` (batch,); weights (batch, heads, T, S).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.core.masks import causal_mask, padding_mask
from course_lib.core.shapes import expect_match, expect_shape
from course_lib.core.transformer import MultiHeadAttention, TransformerConfig


def _check_ours(ours: object) -> MultiHeadAttention:
    if not isinstance(ours, MultiHeadAttention):
        raise TypeError(
            f"ours: expected a course_lib MultiHeadAttention, got {type(ours).__name__}"
        )
    return ours


@torch.no_grad()
def to_torch(ours: MultiHeadAttention) -> nn.MultiheadAttention:
    """A ``torch.nn.MultiheadAttention`` (batch-first) holding copies of ``ours``'s weights."""
    ours = _check_ours(ours)
    d, heads = ours.config.d_model, ours.config.n_heads
    theirs = nn.MultiheadAttention(d, heads, batch_first=True)
    theirs.in_proj_weight.copy_(
        torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight])  # (3d, d)
    )
    theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
    theirs.out_proj.weight.copy_(ours.out_proj.weight)  # (d, d)
    theirs.out_proj.bias.copy_(ours.out_proj.bias)  # (d,)
    return theirs.train(ours.training)


@torch.no_grad()
def from_torch(theirs: nn.MultiheadAttention) -> MultiHeadAttention:
    """The course's ``MultiHeadAttention`` holding copies of a torch module's weights."""
    if not isinstance(theirs, nn.MultiheadAttention):
        raise TypeError(f"theirs: expected nn.MultiheadAttention, got {type(theirs).__name__}")
    if theirs.in_proj_weight is None or theirs.in_proj_bias is None or theirs.bias_k is not None:
        raise ValueError(
            "theirs: only the default layout is supported (kdim == vdim == "
            "embed_dim, bias=True, add_bias_kv=False)"
        )
    ours = MultiHeadAttention(TransformerConfig(d_model=theirs.embed_dim, n_heads=theirs.num_heads))
    w_q, w_k, w_v = theirs.in_proj_weight.chunk(3)  # each (d, d)
    b_q, b_k, b_v = theirs.in_proj_bias.chunk(3)  # each (d,)
    for proj, w, b in (
        (ours.q_proj, w_q, b_q),
        (ours.k_proj, w_k, b_k),
        (ours.v_proj, w_v, b_v),
        (ours.out_proj, theirs.out_proj.weight, theirs.out_proj.bias),
    ):
        proj.weight.copy_(w)
        proj.bias.copy_(b)
    return ours.train(theirs.training)


def causal_self_attention(
    x: torch.Tensor,
    w_qkv: torch.Tensor,
    b_qkv: torch.Tensor,
    w_out: torch.Tensor,
    b_out: torch.Tensor,
    n_heads: int,
) -> torch.Tensor:
    """Multi-head causal self-attention on torch's parameter layout: x (batch, T, d),
    ``w_qkv`` (3d, d) and ``b_qkv`` (3d,) as in ``in_proj_weight``/``in_proj_bias``, ``w_out``
    (d, d), ``b_out`` (d,) -> (batch, T, d). The course's :class:`MultiHeadAttention` runs with
    these tensors as its parameters (gradients flow back to them) and a causal mask."""
    length, d = expect_shape(x, "batch, T, d", name="x")["T"], x.shape[-1]
    for name, tensor, dims in (
        ("w_qkv", w_qkv, (3 * d, d)),
        ("b_qkv", b_qkv, (3 * d,)),
        ("w_out", w_out, (d, d)),
        ("b_out", b_out, (d,)),
    ):
        if tuple(tensor.shape) != dims:
            raise ValueError(
                f"{name}: expected shape {dims} for d = {d}, got {tuple(tensor.shape)}"
            )
    module = MultiHeadAttention(TransformerConfig(d_model=d, n_heads=n_heads))
    w_q, w_k, w_v = w_qkv.chunk(3)  # each (d, d)
    b_q, b_k, b_v = b_qkv.chunk(3)  # each (d,)
    parameters = {
        "q_proj.weight": w_q, "q_proj.bias": b_q, "k_proj.weight": w_k, "k_proj.bias": b_k,
        "v_proj.weight": w_v, "v_proj.bias": b_v, "out_proj.weight": w_out, "out_proj.bias": b_out,
    }  # fmt: skip
    mask = causal_mask(length)  # (T, T): position t sees 0..t
    out, _ = torch.func.functional_call(module, parameters, (x, x, x, mask))  # (batch, T, d)
    return out


def torch_mask_args(
    mask: torch.Tensor | None = None,
    key_lengths: torch.Tensor | None = None,
    n_keys: int | None = None,
) -> dict[str, torch.Tensor | None]:
    """Our masks as torch's keyword arguments (``True`` = may attend -> ``True`` = blocked).

    ``mask`` (T, S) bool -> ``attn_mask`` (T, S); ``key_lengths`` (batch,) ->
    ``key_padding_mask`` (batch, S) where S is ``n_keys``, else ``mask``'s last size, else the
    longest length.
    """
    args: dict[str, torch.Tensor | None] = {"attn_mask": None, "key_padding_mask": None}
    if mask is not None:
        expect_shape(mask, "T, S", name="mask")
        if mask.dtype != torch.bool:
            raise TypeError(f"mask: expected dtype torch.bool (True = attend), got {mask.dtype}")
        args["attn_mask"] = ~mask  # (T, S), True = blocked
    if key_lengths is not None:
        expect_shape(key_lengths, "batch", name="key_lengths")
        if n_keys is None and mask is not None:
            n_keys = mask.shape[-1]
        args["key_padding_mask"] = ~padding_mask(key_lengths, n_keys)[:, 0]  # (batch, S)
    return args


def our_mask(
    mask: torch.Tensor | None, key_lengths: torch.Tensor | None, n_keys: int
) -> torch.Tensor | None:
    """The one mask our module takes for ``mask`` (T, S) and ``key_lengths`` (batch,):
    their conjunction, broadcastable to (batch, T, S); ``None`` if both are ``None``."""
    combined = mask
    if key_lengths is not None:
        keys = padding_mask(key_lengths, n_keys)  # (batch, 1, S)
        combined = keys if combined is None else combined[None] & keys  # (batch, T, S)
    return combined


@dataclass(frozen=True)
class Comparison:
    """Largest absolute differences between the two modules' outputs and weights."""

    output: float
    weights: float

    @property
    def worst(self) -> float:
        return max(self.output, self.weights)


@torch.no_grad()
def compare(
    ours: MultiHeadAttention,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    key_lengths: torch.Tensor | None = None,
) -> Comparison:
    """Run ``ours`` and a weight copy in torch on the same input and masks; return the largest
    absolute differences of outputs (batch, T, d) and per-head weights (batch, heads, T, S).

    Every query must keep at least one key (torch returns NaN for a fully masked row, ours 0).
    """
    qs = expect_shape(query, "batch, T, d_model", name="query")
    ks = expect_shape(key, "batch, S, d_model", name="key")
    if key_lengths is not None:
        expect_match(
            "query and key_lengths batch sizes",
            {"query.batch": qs["batch"], "key_lengths.batch": len(key_lengths)},
        )
    theirs = to_torch(ours)
    out_ours, w_ours = ours(query, key, value, our_mask(mask, key_lengths, ks["S"]))
    out_theirs, w_theirs = theirs(
        query,
        key,
        value,
        need_weights=True,
        average_attn_weights=False,
        **torch_mask_args(mask, key_lengths, ks["S"]),
    )  # (b, T, d), (b, h, T, S)
    return Comparison(
        output=float((out_ours - out_theirs).abs().max()),
        weights=float((w_ours - w_theirs).abs().max()),
    )
