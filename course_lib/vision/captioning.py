"""Captioning with soft spatial attention ("Show, Attend and Tell", Xu et al., 2015) on
multi-digit canvases: a CNN turns the image into a grid of feature vectors, a GRU decoder
writes the digits left to right and, before each token, attends over the grid.

One decoder step: score every grid cell against the previous hidden state (additive score),
softmax over the cells, take the weighted average of the cell features (the *context*), feed
``[previous token, context]`` to the GRU, predict the next token from ``[state, context]``.

Tokens: digits 0-9, ``END`` = 10, ``START`` = 11. Shapes: images (batch, 1, S, S); features
(batch, d, G, G); tokens (batch, T); logits (batch, T, 11); attention (batch, T, G, G).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.attention import AdditiveScore, ScoreFn, attention
from course_lib.core.shapes import expect_match, expect_positive_int, expect_shape
from course_lib.data.canvases import Canvases
from course_lib.data.pointing import attention_peaks, in_boxes
from course_lib.vision.convnets import FeatureGrid, FeatureGridConfig, grid_to_tokens

END, START, PAD = 10, 11, -100  # PAD is cross_entropy's ignore_index
N_OUT = 11  # digits + END


def attend_grid(
    score: ScoreFn, hidden: torch.Tensor, features: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One soft-attention read of a feature grid.

    ``score(q, k)``: (batch, 1, d_h), (batch, G_h*G_w, d) -> (batch, 1, G_h*G_w);
    ``hidden``: (batch, d_h) the query; ``features``: (batch, d, G_h, G_w) keys and values.
    Returns the context (batch, d) and the weights (batch, G_h, G_w), which sum to 1.
    """
    hs = expect_shape(hidden, "batch, d_h", name="hidden")
    fs = expect_shape(features, "batch, d, G_h, G_w", name="features")
    expect_match(
        "hidden and features batch sizes",
        {"hidden.batch": hs["batch"], "features.batch": fs["batch"]},
    )
    cells = grid_to_tokens(features)  # (batch, G_h*G_w, d)
    context, weights = attention(hidden[:, None], cells, cells, score=score)  # (b,1,d), (b,1,N)
    return context[:, 0], weights.reshape(fs["batch"], fs["G_h"], fs["G_w"])


@dataclass(frozen=True)
class CaptionConfig:
    """Backbone ``grid``; GRU of ``hidden`` units; token embedding ``embed``; additive score
    with ``attn_hidden`` units; at most ``max_len`` tokens (digits + END); ``deep_output``: read
    the token from ``[state, context]`` through a hidden ReLU layer (the paper's "deep output")
    instead of one linear map."""

    grid: FeatureGridConfig = FeatureGridConfig()
    hidden: int = 128
    embed: int = 32
    attn_hidden: int = 64
    max_len: int = 4
    deep_output: bool = False

    def __post_init__(self) -> None:
        for name in ("hidden", "embed", "attn_hidden", "max_len"):
            expect_positive_int(getattr(self, name), name)


class Captioner(nn.Module):
    """CNN feature grid -> GRU decoder with additive attention over the grid cells."""

    def __init__(self, config: CaptionConfig = CaptionConfig()) -> None:
        super().__init__()
        self.config = config
        d, h = config.grid.d_model, config.hidden
        self.backbone = FeatureGrid(config.grid)
        self.init_state = nn.Linear(d, h)
        self.embed = nn.Embedding(N_OUT + 1, config.embed)  # digits, END, START
        self.score = AdditiveScore(h, d, config.attn_hidden)
        self.cell = nn.GRUCell(config.embed + d, h)
        self.out = (
            nn.Sequential(nn.Linear(h + d, h), nn.ReLU(), nn.Linear(h, N_OUT))
            if config.deep_output
            else nn.Linear(h + d, N_OUT)
        )

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, 1, S, S) -> features with positions (batch, d, G, G), first state (batch, h)."""
        features = self.backbone(images) + self.backbone.pos  # (batch, d, G, G)
        return features, torch.tanh(self.init_state(features.mean(dim=(2, 3))))  # (batch, h)

    def step(
        self, prev: torch.Tensor, state: torch.Tensor, features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One token: ``prev`` (batch,) ids, ``state`` (batch, h) -> logits (batch, 11),
        new state (batch, h), attention (batch, G, G)."""
        context, weights = attend_grid(self.score, state, features)  # (b, d), (b, G, G)
        state = self.cell(torch.cat([self.embed(prev), context], dim=-1), state)  # (b, h)
        return self.out(torch.cat([state, context], dim=-1)), state, weights

    def forward(
        self, images: torch.Tensor, tokens_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: ``tokens_in`` (batch, T) starts with START -> logits (batch, T, 11),
        attention (batch, T, G, G)."""
        ts = expect_shape(tokens_in, "batch, T", name="tokens_in")
        features, state = self.encode(images)
        logits, maps = [], []
        for t in range(ts["T"]):
            step_logits, state, weights = self.step(tokens_in[:, t], state, features)
            logits.append(step_logits)
            maps.append(weights)
        return torch.stack(logits, 1), torch.stack(maps, 1)

    @torch.no_grad()
    def generate(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy decoding: tokens (batch, max_len) (after END: END), attention (batch, max_len,
        G, G)."""
        self.eval()
        features, state = self.encode(images)
        prev = torch.full((len(images),), START, dtype=torch.long)
        tokens, maps = [], []
        done = torch.zeros(len(images), dtype=torch.bool)
        for _ in range(self.config.max_len):
            logits, state, weights = self.step(prev, state, features)
            prev = torch.where(done, END, logits.argmax(-1))  # (batch,)
            done |= prev == END
            tokens.append(prev)
            maps.append(weights)
        return torch.stack(tokens, 1), torch.stack(maps, 1)


def caption_tokens(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (n, k) padded with -1 -> decoder inputs (n, k + 1) ``[START, d1, d2, ...]`` and
    targets (n, k + 1) ``[d1, d2, ..., END, PAD...]`` (PAD = -100 is ignored by the loss)."""
    expect_shape(labels, "n, k", name="labels")
    n = len(labels)
    counts = (labels >= 0).sum(1)  # (n,)
    targets = torch.cat([labels, torch.full((n, 1), PAD)], dim=1)  # (n, k + 1)
    targets[targets < 0] = PAD
    targets[torch.arange(n), counts] = END
    inputs = torch.cat([torch.full((n, 1), START), targets[:, :-1]], dim=1)  # (n, k + 1)
    inputs[inputs < 0] = END  # after END the inputs do not matter (their targets are PAD)
    return inputs, targets


def caption_loss(model: Captioner, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the next token, teacher forcing. ``images`` (b, 1, S, S)."""
    inputs, targets = caption_tokens(labels)  # (b, T), (b, T)
    logits, _ = model(images, inputs)  # (b, T, 11)
    return F.cross_entropy(logits.reshape(-1, N_OUT), targets.reshape(-1), ignore_index=PAD)


def decoded_digits(tokens: torch.Tensor) -> list[list[int]]:
    """Greedy tokens (n, T) -> the digits before the first END of each row."""
    rows = []
    for row in tokens.tolist():
        rows.append(row[: row.index(END)] if END in row else row)
    return rows


def sequence_accuracy(tokens: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images whose whole digit string is right (every digit, no extra, none
    missing). ``tokens`` (n, T) greedy output; ``labels`` (n, k) padded with -1."""
    truth = [[d for d in row if d >= 0] for row in labels.tolist()]
    return sum(p == t for p, t in zip(decoded_digits(tokens), truth, strict=True)) / len(truth)


def pointing_hits(
    tokens: torch.Tensor, maps: torch.Tensor, canvases: Canvases, refine: bool = True
) -> tuple[int, int]:
    """Pointing game: for every digit the model emits at step t, is the peak of its attention
    map (:func:`~course_lib.data.pointing.attention_peaks`) inside the box of the t-th digit
    (left to right)? Digits emitted past the true count have no box and count as misses.
    Returns (hits, emitted)."""
    size = canvases.images.shape[-1]
    peaks = attention_peaks(maps, size, refine)  # (n, T, 2)
    steps = torch.arange(peaks.shape[1])  # (T,)
    lengths = torch.tensor([len(digits) for digits in decoded_digits(tokens)])  # (n,)
    emitted = steps < lengths[:, None]  # (n, T): a digit written at step t
    has_box = steps < canvases.counts[:, None]  # (n, T): the t-th digit exists
    boxes = canvases.boxes[:, : peaks.shape[1]]  # (n, min(T, k), 4)
    boxes = F.pad(boxes, (0, 0, 0, peaks.shape[1] - boxes.shape[1]))  # (n, T, 4), zeros: no box
    hits = emitted & has_box & in_boxes(peaks, boxes)  # (n, T)
    return int(hits.sum()), int(emitted.sum())
