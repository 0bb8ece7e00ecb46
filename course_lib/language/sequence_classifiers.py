"""Three sequence models with the same interface, for comparing architectures on one task:
a CNN, an RNN (GRU) and a transformer encoder.

Each maps ``tokens`` (batch, n) int64 to per-position states (``encode``: (batch, n, d)) and
then, by its config's ``readout``, to ``logits`` (batch, n_classes) for the whole sequence
(``"pool"``) or (batch, n, n_classes) for every position (``"tokens"``). They differ in how
far information travels:

- :class:`CNNClassifier`: ``layers`` convolutions of width ``kernel``; a position sees the
  ``1 + layers * (kernel - 1)`` tokens around it (its receptive field) and no further; the
  sequence readout is a max over positions.
- :class:`RNNClassifier`: a GRU reads left to right; a position sees everything before it,
  carried one step at a time through a fixed-size state; the sequence readout is the last state.
- :class:`TransformerClassifier`: :class:`~course_lib.core.transformer.TransformerBlock` s; every
  position reaches every other in one step; the sequence readout is the mean. ``positions``
  picks the positional encoding: ``"none"``, ``"sinusoidal"``, ``"learned"`` or ``"rope"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.mha_extensions import extend_attention
from course_lib.core.positional import LearnedPositions, SinusoidalPositions
from course_lib.core.shapes import expect_shape
from course_lib.core.transformer import TransformerBlock, TransformerConfig

POSITIONS = ("none", "sinusoidal", "learned", "rope")
READOUTS = ("pool", "tokens")


def _check_readout(readout: str) -> None:
    if readout not in READOUTS:
        raise ValueError(f"readout: expected one of {READOUTS}, got {readout!r}")


def _tokens(tokens: object, vocab: int) -> dict[str, int]:
    sizes = expect_shape(tokens, "batch, n", name="tokens")
    if tokens.dtype != torch.long:
        raise TypeError(f"tokens: expected int64 token ids, got dtype {tokens.dtype}")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= vocab):
        raise ValueError(
            f"tokens: ids must lie in [0, vocab={vocab}), got "
            f"[{int(tokens.min())}, {int(tokens.max())}]"
        )
    return sizes


@dataclass(frozen=True)
class CNNConfig:
    vocab: int
    n_classes: int = 2
    channels: int = 64
    layers: int = 4
    kernel: int = 5
    readout: str = "pool"

    def __post_init__(self) -> None:
        _check_readout(self.readout)
        if self.kernel % 2 == 0:
            raise ValueError(f"kernel: expected an odd width (centred), got {self.kernel}")

    @property
    def receptive_field(self) -> int:
        return 1 + self.layers * (self.kernel - 1)


class CNNClassifier(nn.Module):
    """Embedding, ``layers`` residual ``Conv1d(kernel)`` + ReLU blocks, a linear readout."""

    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.embed = nn.Embedding(config.vocab, c)
        self.convs = nn.ModuleList(
            nn.Conv1d(c, c, config.kernel, padding=config.kernel // 2) for _ in range(config.layers)
        )
        self.head = nn.Linear(c, config.n_classes)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """(batch, n) -> (batch, n, channels): each position from its receptive field only."""
        _tokens(tokens, self.config.vocab)
        h = self.embed(tokens).transpose(1, 2)  # (batch, channels, n)
        for conv in self.convs:
            h = h + torch.relu(conv(h))  # (batch, channels, n)
        return h.transpose(1, 2)  # (batch, n, channels)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encode(tokens)  # (batch, n, channels)
        pooled = h.amax(dim=1) if self.config.readout == "pool" else h
        return self.head(pooled)  # (batch, n_classes) or (batch, n, n_classes)


@dataclass(frozen=True)
class RNNConfig:
    vocab: int
    n_classes: int = 2
    emb: int = 32
    hidden: int = 64
    readout: str = "pool"

    def __post_init__(self) -> None:
        _check_readout(self.readout)


class RNNClassifier(nn.Module):
    """Embedding, a GRU left to right, a linear readout (of the last state for ``"pool"``)."""

    def __init__(self, config: RNNConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab, config.emb)
        self.rnn = nn.GRU(config.emb, config.hidden, batch_first=True)
        self.head = nn.Linear(config.hidden, config.n_classes)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """(batch, n) -> (batch, n, hidden): position t has read tokens 0..t."""
        _tokens(tokens, self.config.vocab)
        return self.rnn(self.embed(tokens))[0]  # (batch, n, hidden)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encode(tokens)  # (batch, n, hidden)
        return self.head(h[:, -1] if self.config.readout == "pool" else h)


@dataclass(frozen=True)
class TransformerClassifierConfig:
    vocab: int
    n_classes: int = 2
    layers: int = 2
    block: TransformerConfig = TransformerConfig(d_model=32, n_heads=4, d_ff=64)
    positions: str = "sinusoidal"
    max_len: int = 64
    readout: str = "pool"

    def __post_init__(self) -> None:
        _check_readout(self.readout)
        if self.positions not in POSITIONS:
            raise ValueError(f"positions: expected one of {POSITIONS}, got {self.positions!r}")


class TransformerClassifier(nn.Module):
    """Embedding (+ positions), ``layers`` pre-norm transformer blocks, a final LayerNorm,
    a linear readout (of the mean over positions for ``"pool"``)."""

    def __init__(self, config: TransformerClassifierConfig) -> None:
        super().__init__()
        self.config = config
        d = config.block.d_model
        self.embed = nn.Embedding(config.vocab, d)
        self.positions: nn.Module = {
            "sinusoidal": lambda: SinusoidalPositions(d),
            "learned": lambda: LearnedPositions(d, config.max_len),
        }.get(config.positions, nn.Identity)()
        self.blocks = nn.ModuleList(TransformerBlock(config.block) for _ in range(config.layers))
        if config.positions == "rope":
            extend_attention(self.blocks, rotary=True)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, config.n_classes)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token states after the last block: (batch, n) -> (batch, n, d_model)."""
        _tokens(tokens, self.config.vocab)
        h = self.positions(self.embed(tokens))  # (batch, n, d)
        for block in self.blocks:
            h = block(h)  # (batch, n, d)
        return self.norm(h)  # (batch, n, d)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encode(tokens)  # (batch, n, d)
        return self.head(h.mean(dim=1) if self.config.readout == "pool" else h)


def classification_batches(
    tokens: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled ``(tokens, labels)`` mini-batches: (b, n) and (b,) or (b, n) each."""
    order = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(seed))  # (N,)
    return [(tokens[i], labels[i]) for i in order.split(batch_size)]


def classification_loss(model: nn.Module, tokens: torch.Tensor, labels: torch.Tensor):
    """Cross-entropy of ``model(tokens)`` against ``labels`` (N,) or, per position, (N, n)
    (positions labelled ``-100`` are ignored)."""
    logits = model(tokens)  # (b, n_classes) or (b, n, n_classes)
    return F.cross_entropy(logits.flatten(0, -2), labels.flatten(), ignore_index=-100)


@torch.no_grad()
def predict(model: nn.Module, tokens: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Predicted classes for ``tokens`` (N, n), in eval mode: (N,) or (N, n)."""
    model.eval()
    return torch.cat([model(t).argmax(-1) for t in tokens.split(batch_size)])
