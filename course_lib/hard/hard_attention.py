"""Soft vs hard attention on one task: look at one of a few windows of an image, then classify.

A 60x60 canvas holds one digit at one of 3x3 grid positions (see
:mod:`course_lib.data.canvases`, ``grid=3``), so exactly one of nine 28x28 windows holds it. A
**scorer** gives each window a score from a cheap, blurred 7x7 view of it; the scores become
weights ``softmax(scores / temperature)``. Then

- **soft** attention classifies the weighted *average* of the nine windows: every step is
  differentiable, the scorer learns by backprop;
- **hard** attention *samples* one window from the weights and classifies only that one. The
  sample is an integer: no gradient flows through it, so the scorer learns by REINFORCE
  (:mod:`course_lib.hard.reinforce`) with reward 1 for a correct class.

Shapes: images (batch, 1, S, S); windows (batch, K, 28, 28), K = grid**2; scores (batch, K).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.shapes import expect_shape
from course_lib.data.canvases import DIGIT, PlacementConfig
from course_lib.hard.reinforce import PolicyGradient, categorical_entropy, categorical_log_prob

MODES = ("soft", "hard")


@dataclass(frozen=True)
class WindowConfig:
    """Canvas ``size``, ``grid`` x ``grid`` windows of 28 px; the scorer sees each window
    averaged over ``coarse`` x ``coarse`` blocks; hidden sizes; softmax ``temperature``."""

    size: int = 60
    grid: int = 3
    coarse: int = 4
    scorer_hidden: int = 32
    classifier_hidden: int = 64
    temperature: float = 1.0

    def __post_init__(self) -> None:
        PlacementConfig(size=self.size, grid=self.grid)  # validates size and grid
        if DIGIT % self.coarse:
            raise ValueError(f"coarse: expected a divisor of 28, got {self.coarse}")
        if not self.temperature > 0:
            raise ValueError(f"temperature: expected > 0, got {self.temperature}")

    @property
    def windows(self) -> int:
        return self.grid**2

    def corners(self) -> torch.Tensor:
        """(K, 2) pixel (x, y) of each window's top-left corner, row by row."""
        stride = PlacementConfig(size=self.size, grid=self.grid).stride
        cells = torch.arange(self.windows)  # (K,)
        return torch.stack([cells % self.grid, cells // self.grid], dim=1) * stride  # (K, 2)


def windows(images: torch.Tensor, config: WindowConfig = WindowConfig()) -> torch.Tensor:
    """The K candidate windows of each image: (batch, 1, S, S) -> (batch, K, 28, 28)."""
    sizes = expect_shape(images, "batch, 1, S, S2", name="images")
    if sizes["S"] != config.size or sizes["S2"] != config.size:
        raise ValueError(f"images: expected S = {config.size}, got shape {tuple(images.shape)}")
    # every window lies inside the image: a plain slice (extract_patch would pad)
    return torch.stack(
        [images[:, 0, y : y + DIGIT, x : x + DIGIT] for x, y in config.corners().tolist()], dim=1
    )  # (batch, K, 28, 28)


@dataclass
class WindowOutput:
    """``logits`` (batch, 10) of the classifier on what it saw; ``scores`` (batch, K);
    ``weights`` (batch, K) = softmax(scores / T); ``choice`` (batch,) int64 the window looked at
    (hard; for soft: the largest weight); ``log_prob`` (batch,) of the choice (hard, else None);
    ``baseline`` (batch,) the predicted reward."""

    logits: torch.Tensor
    scores: torch.Tensor
    weights: torch.Tensor
    choice: torch.Tensor
    log_prob: torch.Tensor | None
    baseline: torch.Tensor


class WindowAttention(nn.Module):
    """Scorer + classifier (+ a baseline for REINFORCE); ``mode`` is ``"soft"`` or ``"hard"``."""

    def __init__(self, mode: str, config: WindowConfig = WindowConfig()) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
        self.mode, self.config = mode, config
        view = (DIGIT // config.coarse) ** 2
        self.scorer = nn.Sequential(
            nn.Linear(view, config.scorer_hidden), nn.ReLU(), nn.Linear(config.scorer_hidden, 1)
        )
        self.classifier = nn.Sequential(
            nn.Linear(DIGIT**2, config.classifier_hidden),
            nn.ReLU(),
            nn.Linear(config.classifier_hidden, 10),
        )
        self.baseline = nn.Linear(config.windows, 1)  # reads the (detached) weights

    def policy_parameters(self):
        """The parameters REINFORCE trains (hard mode): the scorer's."""
        return self.scorer.parameters()

    def score(self, wins: torch.Tensor) -> torch.Tensor:
        """Windows (batch, K, 28, 28) -> scores (batch, K) from their blurred views."""
        blurred = F.avg_pool2d(wins, self.config.coarse)  # (batch, K, 7, 7)
        return self.scorer(blurred.flatten(2))[..., 0]  # (batch, K)

    def forward(
        self,
        images: torch.Tensor,
        sample: bool = True,
        temperature: float | None = None,
        generator: torch.Generator | None = None,
    ) -> WindowOutput:
        wins = windows(images, self.config)  # (batch, K, 28, 28)
        t = self.config.temperature if temperature is None else temperature
        scores = self.score(wins)  # (batch, K)
        weights = torch.softmax(scores / t, -1)  # (batch, K)
        baseline = self.baseline(weights.detach())[:, 0]  # (batch,)
        if self.mode == "soft":
            seen = torch.einsum("bk,bkhw->bhw", weights, wins)  # (batch, 28, 28) a blend
            choice, log_prob = weights.argmax(-1), None
        else:
            if sample:
                choice = torch.multinomial(weights.detach(), 1, generator=generator)[:, 0]
            else:
                choice = weights.argmax(-1)  # (batch,) int64: the end of every gradient path
            seen = wins[torch.arange(len(wins)), choice]  # (batch, 28, 28)
            log_prob = categorical_log_prob(scores / t, choice)  # (batch,)
        logits = self.classifier(seen.flatten(1))  # (batch, 10)
        return WindowOutput(logits, scores, weights, choice, log_prob, baseline)

    def per_window_logits(self, images: torch.Tensor) -> torch.Tensor:
        """The classifier applied to every window: (batch, 1, S, S) -> (batch, K, 10)."""
        wins = windows(images, self.config)  # (batch, K, 28, 28)
        return self.classifier(wins.flatten(2))  # (batch, K, 10)

    def loss(
        self,
        images,
        labels,
        pg: PolicyGradient,
        spread=None,
        entropy_weight=0.0,
        reinforce_weight=1.0,
        generator=None,
    ):
        """Soft: cross-entropy. Hard: cross-entropy (classifier) + REINFORCE (scorer, reward =
        correct) + baseline MSE - ``entropy_weight`` * mean entropy of the weights.
        ``spread`` is the softmax temperature. Returns (loss, stats)."""
        out = self(images, temperature=spread, generator=generator)
        cls = F.cross_entropy(out.logits, labels)
        reward = (out.logits.argmax(-1) == labels).float()  # (batch,)
        t = self.config.temperature if spread is None else spread
        entropy = categorical_entropy(out.scores / t).mean()
        loss = cls
        if self.mode == "hard":
            rl, bl = pg(out.log_prob, reward, out.baseline)
            loss = cls + reinforce_weight * rl + bl - entropy_weight * entropy
        return loss, {
            "reward": float(reward.mean()),
            "classification": float(cls.detach()),
            "entropy": float(entropy.detach()),
        }


@torch.no_grad()
def window_metrics(
    model: WindowAttention, images: torch.Tensor, labels: torch.Tensor, cells: torch.Tensor
) -> dict[str, float]:
    """Test ``error`` (hard: the best-scored window, no sampling) and ``where``: how often the
    largest weight is on the window that holds the digit. images (n, S, S)."""
    expect_shape(images, "n, S, S2", name="images")
    model.eval()
    out = model(images[:, None], sample=False)
    return {
        "error": float((out.logits.argmax(-1) != labels).float().mean()),
        "where": float((out.weights.argmax(-1) == cells).float().mean()),
    }
