"""An encoder-decoder transformer for lesson 02's translation task (number words -> digits),
built from :class:`~course_lib.core.transformer.TransformerBlock`.

- **Encoder**: source embeddings (times ``sqrt(d_model)``) + sinusoidal positions, then
  ``enc_layers`` pre-norm blocks of self-attention over the real (unpadded) source words.
- **Decoder**: target embeddings + positions, then ``dec_layers`` blocks of *causal*
  self-attention (a digit sees only the digits before it), cross-attention to the encoder's
  states (the alignment) and an MLP; a final LayerNorm and a linear layer give the logits.
- Pre-norm residual blocks (``x + f(LN(x))``), dropout on the embeddings and on every residual
  branch (``block.dropout``).

The model has the interface of :class:`course_lib.language.seq2seq.Seq2Seq` (``forward(src,
src_lengths, tgt_in)`` and ``greedy``), so the task's ``translate``, ``exact_match`` and
``sequence_loss`` (:mod:`course_lib.data.translation`) work on it unchanged.

Shapes: ``src`` (batch, S) ids, ``src_lengths`` (batch,), ``tgt_in`` (batch, T) ids,
``memory`` (batch, S, d_model), ``logits`` (batch, T, tgt_vocab), cross-attention ``weights``
(batch, T, S) (last decoder layer, mean over heads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from course_lib.core.attention import attention
from course_lib.core.masks import causal_mask, padding_mask
from course_lib.core.positional import SinusoidalPositions, sinusoidal_encoding
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape
from course_lib.core.transformer import MultiHeadAttention, TransformerBlock, TransformerConfig
from course_lib.data.translation import (
    TranslationData,
    model_exact_match,
    teacher_forcing_loss,
    training_batches,
)
from course_lib.data.vocab import BOS_ID, EOS_ID, PAD_ID
from course_lib.train.loops import StepConfig, StepHistory, train_steps


@dataclass(frozen=True)
class TranslationTransformerConfig:
    """Vocabulary sizes, the block shape shared by all layers, the numbers of layers, and
    whether an ``<eos>`` token is appended to every source sentence (``src_eos``)."""

    src_vocab: int
    tgt_vocab: int
    block: TransformerConfig = TransformerConfig(d_model=64, n_heads=4, d_ff=128, dropout=0.1)
    enc_layers: int = 2
    dec_layers: int = 2
    src_eos: bool = True

    def __post_init__(self) -> None:
        for name in ("src_vocab", "tgt_vocab", "enc_layers", "dec_layers"):
            expect_positive_int(getattr(self, name), name)
        if isinstance(self.block, dict):  # from a checkpoint's asdict()
            object.__setattr__(self, "block", TransformerConfig(**self.block))
        if not isinstance(self.block, TransformerConfig):
            raise TypeError(f"block: expected a TransformerConfig, got {type(self.block).__name__}")


class TranslationTransformer(nn.Module):
    """Encoder-decoder transformer; see the module docstring."""

    def __init__(self, config: TranslationTransformerConfig) -> None:
        super().__init__()
        self.config = config
        d = config.block.d_model
        self.src_embed = nn.Embedding(config.src_vocab, d, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(config.tgt_vocab, d, padding_idx=PAD_ID)
        for table in (self.src_embed, self.tgt_embed):  # std 1/sqrt(d), times sqrt(d) below
            nn.init.normal_(table.weight, std=d**-0.5)
            table.weight.data[PAD_ID] = 0
        self.positions = SinusoidalPositions(d)
        self.drop = nn.Dropout(config.block.dropout)
        self.encoder = nn.ModuleList(
            TransformerBlock(config.block) for _ in range(config.enc_layers)
        )
        self.enc_norm = nn.LayerNorm(d)
        self.decoder = nn.ModuleList(
            TransformerBlock(config.block, cross=True) for _ in range(config.dec_layers)
        )
        self.dec_norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, config.tgt_vocab)

    def _embed(self, ids: torch.Tensor, table: nn.Embedding) -> torch.Tensor:
        scale = math.sqrt(self.config.block.d_model)
        return self.drop(self.positions(table(ids) * scale))  # (batch, L, d)

    def encode(
        self, src: torch.Tensor, src_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``src`` (batch, S), ``src_lengths`` (batch,) -> ``memory`` (batch, S', d) and the
        source mask (batch, 1, S') (True = real token). With ``config.src_eos``, ``<eos>`` is
        written after each sentence's last word: S' = S + 1 and the sentence's ``<eos>`` is at
        position ``src_lengths``."""
        sizes = expect_shape(src, "batch, S", name="src")
        expect_shape(src_lengths, "batch", name="src_lengths")
        expect_match(
            "src and src_lengths batch sizes",
            {"src.batch": sizes["batch"], "src_lengths.batch": len(src_lengths)},
        )
        if self.config.src_eos:
            src, src_lengths = with_eos(src, src_lengths)  # (batch, S + 1), (batch,)
        src_mask = padding_mask(src_lengths, src.shape[1])  # (batch, 1, S')
        h = self._embed(src, self.src_embed)  # (batch, S, d)
        for block in self.encoder:
            h = block(h, self_mask=src_mask)  # (batch, S, d)
        return self.enc_norm(h), src_mask

    def decode(
        self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor
    ) -> torch.Tensor:
        """``tgt_in`` (batch, T) -> logits (batch, T, tgt_vocab); position t sees ids <= t."""
        sizes = expect_shape(tgt_in, "batch, T", name="tgt_in")
        h = self._embed(tgt_in, self.tgt_embed)  # (batch, T, d)
        self_mask = causal_mask(sizes["T"])  # (T, T)
        for block in self.decoder:
            h = block(h, memory, self_mask=self_mask, memory_mask=src_mask)  # (batch, T, d)
        return self.out(self.dec_norm(h))  # (batch, T, V)

    def cross_weights(self) -> torch.Tensor:
        """The last decoder layer's cross-attention of the last call, mean over heads:
        (batch, T, S)."""
        return self.decoder[-1].cross_attn.last_weights.mean(dim=1)

    def forward(
        self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: logits (batch, T, tgt_vocab) and cross weights (batch, T, S)."""
        memory, src_mask = self.encode(src, src_lengths)  # (b, S, d), (b, 1, S)
        return self.decode(tgt_in, memory, src_mask), self.cross_weights()

    @torch.no_grad()
    def greedy_recompute(
        self, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int = 12
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy decoding the simple way: rerun the decoder on the whole prefix at every step
        (O(steps^2) work). The reference :meth:`greedy` must equal. Returns ids (batch, steps)
        (``<pad>`` after ``<eos>``) and cross weights (batch, steps, S)."""
        memory, src_mask = self.encode(src, src_lengths)  # (b, S, d), (b, 1, S)
        batch = src.shape[0]
        prefix = torch.full((batch, 1), BOS_ID, dtype=torch.long)  # (b, 1)
        done = torch.zeros(batch, dtype=torch.bool)  # (b,)
        for _ in range(max_len):
            logits = self.decode(prefix, memory, src_mask)[:, -1]  # (b, V)
            y = logits.argmax(-1).masked_fill(done, PAD_ID)  # (b,)
            prefix = torch.cat([prefix, y[:, None]], dim=1)  # (b, t + 1)
            done |= y == EOS_ID
            if bool(done.all()):
                break
        return prefix[:, 1:], self.cross_weights()  # (b, steps), (b, steps, S)

    @torch.no_grad()
    def greedy(
        self, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int = 12
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy decoding with a key/value cache: each step runs the decoder on the newest
        token only; its self-attention reads the keys and values cached at earlier steps, its
        cross-attention the encoder's keys and values projected once. Same result as
        :meth:`greedy_recompute`, O(steps) work. Returns ids (batch, steps) (``<pad>`` after
        ``<eos>``) and cross weights (batch, steps, S) (last layer, mean over heads)."""
        if self.training:
            raise RuntimeError("greedy: call model.eval() first (dropout would be applied)")
        memory, src_mask = self.encode(src, src_lengths)  # (b, S, d), (b, 1, S)
        batch, heads = src.shape[0], self.config.block.n_heads
        cross_mask = src_mask.repeat_interleave(heads, dim=0)  # (b*heads, 1, S)
        cross_kv = [
            (
                blk.cross_attn._split(blk.cross_attn.k_proj(memory)),  # (b*h, S, d_h)
                blk.cross_attn._split(blk.cross_attn.v_proj(memory)),
            )
            for blk in self.decoder
        ]
        self_kv: list[list[torch.Tensor]] = [[] for _ in self.decoder]  # per layer: keys, values
        y = torch.full((batch,), BOS_ID, dtype=torch.long)  # (b,)
        done = torch.zeros(batch, dtype=torch.bool)  # (b,)
        ids, weights = [], []
        for t in range(max_len):
            x = self._embed_step(y, t)  # (b, 1, d)
            for blk, (mem_k, mem_v), cache in zip(self.decoder, cross_kv, self_kv, strict=True):
                h = blk.norm_self(x)  # (b, 1, d)
                k_new = blk.self_attn._split(blk.self_attn.k_proj(h))  # (b*h, 1, d_h)
                v_new = blk.self_attn._split(blk.self_attn.v_proj(h))  # (b*h, 1, d_h)
                cache[:] = (
                    [k_new, v_new]
                    if not cache
                    else [torch.cat([cache[0], k_new], 1), torch.cat([cache[1], v_new], 1)]
                )
                x = x + _attend(blk.self_attn, h, cache[0], cache[1], None)[0]  # (b, 1, d)
                out, w = _attend(blk.cross_attn, blk.norm_cross(x), mem_k, mem_v, cross_mask)
                x = x + out  # (b, 1, d)
                x = x + blk.mlp(blk.norm_mlp(x))  # (b, 1, d)
            logits = self.out(self.dec_norm(x))[:, 0]  # (b, V)
            y = logits.argmax(-1).masked_fill(done, PAD_ID)  # (b,)
            ids.append(y)
            weights.append(w.reshape(batch, heads, -1).mean(1))  # (b, S) last layer
            done |= y == EOS_ID
            if bool(done.all()):
                break
        return torch.stack(ids, dim=1), torch.stack(weights, dim=1)  # (b, steps), (b, steps, S)

    def _embed_step(self, y: torch.Tensor, position: int) -> torch.Tensor:
        """Embed one target token per row at ``position``: (batch,) -> (batch, 1, d)."""
        d = self.config.block.d_model
        table = sinusoidal_encoding(position + 1, d)[position]  # (d,)
        return (self.tgt_embed(y) * math.sqrt(d) + table)[:, None]  # (batch, 1, d)


def _attend(
    mha: MultiHeadAttention,
    h: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``mha`` for queries ``h`` (batch, T, d) against already projected, head-split ``keys``
    and ``values`` (batch*heads, S, d_head): output (batch, T, d), weights (b*heads, T, S)."""
    batch, length, d = h.shape
    q = mha._split(mha.q_proj(h))  # (batch*heads, T, d_head)
    out, w = attention(q, keys, values, mask)  # (b*heads, T, d_head), (b*heads, T, S)
    out = out.reshape(batch, -1, length, out.shape[-1]).transpose(1, 2)  # (b, T, heads, d_h)
    return mha.out_proj(out.reshape(batch, length, d)), w  # (batch, T, d)


def with_eos(src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Write ``<eos>`` after the last word of each sentence: (batch, S) -> (batch, S + 1), and
    lengths + 1. Without it, nothing in a source says "this is the end" to the decoder's
    cross-attention, which only sees weights over the words that are there."""
    padded = torch.cat([src, torch.full_like(src[:, :1], PAD_ID)], dim=1)  # (batch, S + 1)
    padded[torch.arange(len(src)), src_lengths] = EOS_ID
    return padded, src_lengths + 1


# ----------------------------------------------------------------------------------------
# Training on lesson 02's data, with lesson 02's batching, loss and evaluation.


@dataclass(frozen=True)
class TranslationTrainConfig:
    """Steps, warm-up and clipping (:class:`~course_lib.train.loops.StepConfig`), batch size and
    the number of validation pairs used to follow training."""

    steps: StepConfig = StepConfig(steps=6000, lr=2e-3, warmup=400, decay="cosine", clip_grad=1.0)
    batch_size: int = 128
    n_val: int = 500
    eval_every: int = 500

    def __post_init__(self) -> None:
        if isinstance(self.steps, dict):  # from a checkpoint's asdict()
            steps = {k: tuple(v) if isinstance(v, list) else v for k, v in self.steps.items()}
            object.__setattr__(self, "steps", StepConfig(**steps))


def train_translation_transformer(
    model: TranslationTransformer,
    data: TranslationData,
    config: TranslationTrainConfig | None = None,
    desc: str = "transformer",
) -> StepHistory:
    """Teacher-forced training on ``data.train`` (shuffled length-sorted batches, a new order
    every epoch); ``metric`` is the exact match on the first ``n_val`` validation pairs."""
    config = config or TranslationTrainConfig()
    val = data.val[: config.n_val]
    return train_steps(
        model,
        teacher_forcing_loss,
        training_batches(data, config.batch_size, config.steps.seed),
        config.steps,
        evaluate=lambda m: model_exact_match(m, val, data),
        eval_every=config.eval_every,
        desc=desc,
    )
