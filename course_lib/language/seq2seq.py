"""GRU encoder-decoders for lesson 02: without attention, with additive (Bahdanau) and with
multiplicative (Luong) attention.

One encoder (bidirectional GRU), three decoders that differ in *one* method each:

- :class:`PlainDecoder` (Cho et al., 2014): the whole source is squeezed into one vector
  ``summary`` that is fed to every decoder step: a fixed-size bottleneck.
- :class:`BahdanauDecoder` (Bahdanau et al., 2015): before each step, the previous decoder
  state queries all encoder states with an additive score; the context enters the GRU.
- :class:`LuongDecoder` (Luong et al., 2015): the new decoder state queries the encoder states
  with a ``general`` (``s^T W h``) or ``dot`` score; the context is mixed into the output.

Shapes: ``src`` (batch, S) token ids, ``memory`` (batch, S, d_mem) encoder states,
``src_mask`` (batch, 1, S) bool (True = real token), ``tgt_in`` (batch, T) ids,
``logits`` (batch, T, tgt_vocab), attention ``weights`` (batch, T, S).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.core.attention import AdditiveScore, GeneralScore, dot_score
from course_lib.core.masks import masked_softmax, padding_mask
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape
from course_lib.data.translation import (
    TranslationData,
    model_exact_match,
    teacher_forcing_loss,
    training_batches,
)
from course_lib.data.vocab import BOS_ID, EOS_ID, PAD_ID
from course_lib.train.loops import History, fit_stages
from course_lib.train.utils import count_parameters

ATTENTION_KINDS = ("none", "additive", "general", "dot")


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes of an encoder-decoder. ``attention`` is one of ``ATTENTION_KINDS``.

    The encoder is a bidirectional GRU with ``enc_hidden`` units per direction, so encoder
    states have ``2 * enc_hidden`` features; the decoder GRU has ``dec_hidden`` units.
    """

    src_vocab: int
    tgt_vocab: int
    attention: str = "additive"
    emb: int = 32
    enc_hidden: int = 64
    dec_hidden: int = 128
    attn_hidden: int = 64

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(
                f"attention: expected one of {ATTENTION_KINDS}, got {self.attention!r}"
            )
        for name in ("src_vocab", "tgt_vocab", "emb", "enc_hidden", "dec_hidden", "attn_hidden"):
            expect_positive_int(getattr(self, name), name)
        if self.attention == "dot" and self.dec_hidden != 2 * self.enc_hidden:
            raise ValueError(
                f"dec_hidden: the dot score needs dec_hidden == 2 * enc_hidden, "
                f"got {self.dec_hidden} and 2 * {self.enc_hidden}"
            )


class Encoder(nn.Module):
    """Embedding + bidirectional GRU over the real (unpadded) tokens of each sentence."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.src_vocab, config.emb, padding_idx=PAD_ID)
        self.rnn = nn.GRU(config.emb, config.enc_hidden, batch_first=True, bidirectional=True)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``src`` (batch, S), ``lengths`` (batch,) -> ``memory`` (batch, S, 2*enc_hidden),
        ``summary`` (batch, 2*enc_hidden): last forward state and first backward state."""
        sizes = expect_shape(src, "batch, S", name="src")
        expect_match(
            "src and lengths batch sizes",
            {"src.batch": sizes["batch"], "lengths.batch": len(lengths)},
        )
        packed = pack_padded_sequence(
            self.embed(src), lengths.cpu(), batch_first=True, enforce_sorted=False
        )  # skips the padding
        out, last = self.rnn(packed)  # last: (2 directions, batch, enc_hidden)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=sizes["S"])
        summary = torch.cat([last[0], last[1]], dim=-1)  # (batch, 2*enc_hidden)
        return memory, summary


class Decoder(nn.Module):
    """Base class: subclasses define ``step`` (one target token); ``forward`` loops over it.

    ``step(y_prev, state, memory, summary, src_mask)`` takes ``y_prev`` (batch,) ids and the
    GRU ``state`` (batch, dec_hidden); returns ``logits`` (batch, tgt_vocab), the new state and
    the attention weights (batch, S) (``None`` without attention).
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.tgt_vocab, config.emb, padding_idx=PAD_ID)
        self.bridge = nn.Linear(2 * config.enc_hidden, config.dec_hidden)

    def init_state(self, summary: torch.Tensor) -> torch.Tensor:
        """First decoder state from the encoder summary: (batch, 2*enc_hidden) -> (batch, H)."""
        return torch.tanh(self.bridge(summary))

    def step(self, y_prev, state, memory, summary, src_mask):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(
        self,
        tgt_in: torch.Tensor,
        memory: torch.Tensor,
        summary: torch.Tensor,
        src_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher forcing: ``tgt_in`` (batch, T) -> logits (batch, T, V), weights (batch, T, S)."""
        state = self.init_state(summary)  # (batch, H)
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            step_logits, state, step_weights = self.step(
                tgt_in[:, t], state, memory, summary, src_mask
            )
            logits.append(step_logits)
            weights.append(step_weights)
        stacked = torch.stack(weights, dim=1) if weights[0] is not None else None
        return torch.stack(logits, dim=1), stacked  # (batch, T, V), (batch, T, S)


class PlainDecoder(Decoder):
    """No attention: every step sees the same ``summary`` vector of the whole source."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(config)
        d_sum = 2 * config.enc_hidden
        self.rnn = nn.GRU(config.emb + d_sum, config.dec_hidden, batch_first=True)
        self.out = nn.Linear(config.dec_hidden + d_sum, config.tgt_vocab)

    def step(self, y_prev, state, memory, summary, src_mask):
        x = torch.cat([self.embed(y_prev), summary], dim=-1)  # (batch, emb + d_sum)
        _, new = self.rnn(x[:, None], state[None])  # new: (1, batch, H)
        state = new[0]  # (batch, H)
        return self.out(torch.cat([state, summary], dim=-1)), state, None

    def forward(self, tgt_in, memory, summary, src_mask):
        # Same as looping over step(), in one call: the input does not depend on the outputs.
        T = tgt_in.shape[1]
        repeated = summary[:, None].expand(-1, T, -1)  # (batch, T, d_sum)
        x = torch.cat([self.embed(tgt_in), repeated], dim=-1)  # (batch, T, emb + d_sum)
        states, _ = self.rnn(x, self.init_state(summary)[None])  # (batch, T, H)
        return self.out(torch.cat([states, repeated], dim=-1)), None  # (batch, T, V)


def bahdanau_step(
    y_prev: torch.Tensor,
    state: torch.Tensor,
    memory: torch.Tensor,
    src_mask: torch.Tensor,
    embed: nn.Embedding,
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    cell: nn.GRUCell,
    out: nn.Linear,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One decoder step with additive attention, s_{t-1} as the query: y_prev (batch,) ids,
    state (batch, H), memory (batch, S, d_mem), src_mask (batch, 1, S) -> logits (batch, V),
    the new state (batch, H) and the weights (batch, S)."""
    scores = score(state[:, None], memory)  # (batch, 1, S)
    weights = masked_softmax(scores, src_mask)  # (batch, 1, S), 0 on padding
    context = (weights @ memory)[:, 0]  # (batch, d_mem)
    state = cell(torch.cat([embed(y_prev), context], dim=-1), state)  # (batch, H)
    logits = out(torch.cat([state, context], dim=-1))  # (batch, V)
    return logits, state, weights[:, 0]


class BahdanauDecoder(Decoder):
    """Additive attention *before* the GRU: s_{t-1} queries the memory, the context enters."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(config)
        d_mem = 2 * config.enc_hidden
        self.score = AdditiveScore(config.dec_hidden, d_mem, config.attn_hidden)
        self.cell = nn.GRUCell(config.emb + d_mem, config.dec_hidden)
        self.out = nn.Linear(config.dec_hidden + d_mem, config.tgt_vocab)

    def step(self, y_prev, state, memory, summary, src_mask):
        return bahdanau_step(
            y_prev, state, memory, src_mask, self.embed, self.score, self.cell, self.out
        )


class LuongDecoder(Decoder):
    """Multiplicative attention *after* the GRU: s_t queries the memory with ``general`` or
    ``dot``; ``h~_t = tanh(W_c [c_t; s_t])`` predicts the token (no input feeding)."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(config)
        d_mem = 2 * config.enc_hidden
        self.rnn = nn.GRU(config.emb, config.dec_hidden, batch_first=True)
        self.score = (
            GeneralScore(config.dec_hidden, d_mem) if config.attention == "general" else dot_score
        )
        self.combine = nn.Linear(d_mem + config.dec_hidden, config.dec_hidden)
        self.out = nn.Linear(config.dec_hidden, config.tgt_vocab)

    def _attend(self, states, memory, src_mask):
        weights = masked_softmax(self.score(states, memory), src_mask)  # (batch, T, S)
        context = weights @ memory  # (batch, T, d_mem)
        mixed = torch.tanh(self.combine(torch.cat([context, states], dim=-1)))  # (batch, T, H)
        return self.out(mixed), weights  # (batch, T, V), (batch, T, S)

    def step(self, y_prev, state, memory, summary, src_mask):
        _, new = self.rnn(self.embed(y_prev)[:, None], state[None])  # (1, batch, H)
        logits, weights = self._attend(new[0][:, None], memory, src_mask)  # (b, 1, V), (b, 1, S)
        return logits[:, 0], new[0], weights[:, 0]

    def forward(self, tgt_in, memory, summary, src_mask):
        # The queries s_t do not depend on the attention, so all T steps run in one GRU call.
        states, _ = self.rnn(self.embed(tgt_in), self.init_state(summary)[None])  # (b, T, H)
        return self._attend(states, memory, src_mask)


_DECODERS = {
    "none": PlainDecoder,
    "additive": BahdanauDecoder,
    "general": LuongDecoder,
    "dot": LuongDecoder,
}


class Seq2Seq(nn.Module):
    """Encoder + the decoder named by ``config.attention``."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = _DECODERS[config.attention](config)

    def forward(self, src, src_lengths, tgt_in):
        """Teacher forcing: logits (batch, T, tgt_vocab) and weights (batch, T, S) or None."""
        memory, summary = self.encoder(src, src_lengths)  # (b, S, d_mem), (b, d_mem)
        src_mask = padding_mask(src_lengths, src.shape[1])  # (b, 1, S)
        return self.decoder(tgt_in, memory, summary, src_mask)

    @torch.no_grad()
    def greedy(
        self, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int = 12
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Greedy decoding: ids (batch, max_len) (``<pad>`` after ``<eos>``), weights
        (batch, max_len, S) or None. Each step feeds back the model's own argmax."""
        memory, summary = self.encoder(src, src_lengths)  # (b, S, d_mem), (b, d_mem)
        src_mask = padding_mask(src_lengths, src.shape[1])  # (b, 1, S)
        state = self.decoder.init_state(summary)  # (b, H)
        y = torch.full((src.shape[0],), BOS_ID, dtype=torch.long)  # (b,)
        done = torch.zeros(src.shape[0], dtype=torch.bool)  # (b,)
        ids, weights = [], []
        for _ in range(max_len):
            logits, state, w = self.decoder.step(y, state, memory, summary, src_mask)
            y = logits.argmax(-1).masked_fill(done, PAD_ID)  # (b,)
            ids.append(y)
            weights.append(w)
            done |= y == EOS_ID
            if bool(done.all()):
                break
        stacked = torch.stack(weights, dim=1) if weights[0] is not None else None
        return torch.stack(ids, dim=1), stacked


def config_for_budget(base: Seq2SeqConfig, attention: str, budget: int) -> Seq2SeqConfig:
    """``base`` with ``attention`` and the ``dec_hidden`` whose parameter count is closest to
    ``budget`` (so that models with and without attention are compared at equal size).
    ``dot`` needs ``dec_hidden == 2 * enc_hidden`` and is returned with that size."""
    if attention == "dot":
        return replace(base, attention="dot", dec_hidden=2 * base.enc_hidden)
    sizes = range(16, 513, 4)  # the parameter count grows with dec_hidden: bisect

    def size(h: int) -> int:
        return count_parameters(Seq2Seq(replace(base, attention=attention, dec_hidden=h)))

    first_above = bisect.bisect_left(sizes, budget, key=size)
    near = sizes[max(first_above - 1, 0) : first_above + 1]
    best = min(near, key=lambda h: abs(size(h) - budget))
    return replace(base, attention=attention, dec_hidden=best)


# ----------------------------------------------------------------------------------------
# Training and evaluation on the number-translation data (course_lib.data.translation).


@dataclass(frozen=True)
class TrainConfig:
    """Adam in stages of ``(epochs, learning rate)``, teacher forcing, clipped gradients."""

    stages: tuple[tuple[int, float], ...] = ((8, 3e-3), (4, 1e-3), (2, 3e-4))
    batch_size: int = 64
    clip_grad: float = 1.0
    n_val: int = 500
    seed: int = 0


def train_translation(
    model: Seq2Seq, data: TranslationData, config: TrainConfig | None = None, desc: str = ""
) -> History:
    """Train ``model`` on ``data.train`` (teacher forcing), reporting validation exact match
    after each epoch; returns the loss and validation history of all stages."""
    config = config or TrainConfig()
    val = data.val[: config.n_val]
    return fit_stages(
        model,
        teacher_forcing_loss,
        training_batches(data, config.batch_size, config.seed),
        config.stages,
        seed=config.seed,
        clip_grad=config.clip_grad,
        desc=desc or "translation",
        evaluate=lambda m: model_exact_match(m, val, data),
    )
