"""The recurrent attention model, RAM (Mnih, Heess, Graves and Kavukcuoglu, 2014).

The model never sees the whole image. At each of ``glimpses`` steps it

1. takes a glimpse (:func:`~course_lib.core.retina.retina`) at location ``l_t`` and encodes it
   with the location (:class:`~course_lib.hard.glimpse.GlimpseNetwork`) -> ``g_t``;
2. updates its state with a recurrent **core**: ``h_t = core(g_t, h_{t-1})``;
3. the **location network** turns ``h_t`` into the mean of a Gaussian policy and *samples* the
   next location ``l_{t+1} ~ N(mean, std^2 I)`` (a hard, non-differentiable choice);
4. after the last glimpse the **action network** classifies from ``h_T``.

Training uses the **hybrid loss**: cross-entropy for the classifier, glimpse and core networks
(plain backprop), REINFORCE for the location network (reward 1 for a correct class, else 0),
and a squared error for a learned **baseline** ``b_t = f(h_t)`` that predicts the reward.

The two classic bugs, both prevented here and tested:

- the REINFORCE term must use ``(R - b_t).detach()`` and the baseline must learn from its own
  loss only (:func:`~course_lib.hard.reinforce.reinforce_loss` detaches; the baseline reads
  ``h_t.detach()``, so no REINFORCE gradient reaches the core through it either);
- the sampled location is **detached** before it is fed back: otherwise the classification loss
  back-propagates through ``l_{t+1} = mean + std * eps`` into the location network, which then
  learns from a gradient that REINFORCE already accounts for (a biased, different estimator).

The location network also reads ``h_t.detach()``: the core learns from the classification
loss only, the location network from REINFORCE only — as in the popular reference code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.retina import image_pyramid
from course_lib.core.shapes import expect_positive_int, expect_shape
from course_lib.hard.glimpse import GlimpseNetConfig, GlimpseNetwork
from course_lib.hard.reinforce import PolicyGradient, gaussian_log_prob

CORES = ("rnn", "gru")


@dataclass(frozen=True)
class RAMConfig:
    """Sizes of the recurrent attention model; ``std`` is the location policy's spread in
    normalised units (1 = half the image), ``start`` the first glimpse's (x, y)."""

    image_size: int = 60
    glimpse: GlimpseNetConfig = GlimpseNetConfig()
    hidden: int = 128
    core: str = "gru"
    glimpses: int = 6
    std: float = 0.15
    classes: int = 10
    start: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        for name in ("image_size", "hidden", "glimpses", "classes"):
            expect_positive_int(getattr(self, name), name)
        if self.core not in CORES:
            raise ValueError(f"core: expected one of {CORES}, got {self.core!r}")
        if not self.std > 0:
            raise ValueError(f"std: expected > 0, got {self.std}")


class LocationNetwork(nn.Module):
    """State (batch, hidden) -> mean (batch, 2) of the Gaussian location policy, in [-1, 1].

    Reads ``h.detach()``: REINFORCE trains this network only, never the core.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.fc = nn.Linear(hidden, 2)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(h.detach()))  # (batch, 2)


class BaselineNetwork(nn.Module):
    """State (batch, hidden) -> predicted reward (batch,). Reads ``h.detach()``."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.fc = nn.Linear(hidden, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc(h.detach())[:, 0]  # (batch,)


class RNNCore(nn.Module):
    """The paper's core for classification: ``h_t = relu(W_h h_{t-1} + W_g g_t)``."""

    def __init__(self, d_in: int, hidden: int) -> None:
        super().__init__()
        self.input, self.recur = nn.Linear(d_in, hidden), nn.Linear(hidden, hidden)

    def forward(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return F.relu(self.input(g) + self.recur(h))  # (batch, hidden)


@dataclass
class RAMOutput:
    """What one pass returns. T = glimpses, batch first.

    ``logits`` (batch, classes) after the last glimpse; ``step_logits`` (batch, T, classes)
    the action network applied after every glimpse (for plots only); ``locations``
    (batch, T, 2) where each glimpse was taken (after clipping to the image); ``means``,
    ``log_probs``, ``baselines``: (batch, T-1, 2), (batch, T-1), (batch, T-1) for the T-1
    sampled locations."""

    logits: torch.Tensor
    step_logits: torch.Tensor
    locations: torch.Tensor
    means: torch.Tensor
    log_probs: torch.Tensor
    baselines: torch.Tensor


class RAM(nn.Module):
    """Recurrent attention model: images (batch, 1, S, S) -> :class:`RAMOutput`."""

    def __init__(self, config: RAMConfig = RAMConfig()) -> None:
        super().__init__()
        self.config = config
        self.glimpse = GlimpseNetwork(config.glimpse)
        d = config.glimpse.out
        self.core = (
            nn.GRUCell(d, config.hidden) if config.core == "gru" else RNNCore(d, config.hidden)
        )
        self.locator = LocationNetwork(config.hidden)
        self.baseline = BaselineNetwork(config.hidden)
        self.classifier = nn.Linear(config.hidden, config.classes)

    def policy_parameters(self):
        """The parameters REINFORCE trains: the location network's."""
        return self.locator.parameters()

    def forward(
        self,
        images: torch.Tensor,
        std: float | None = None,
        sample: bool = True,
        generator: torch.Generator | None = None,
    ) -> RAMOutput:
        """One episode per image. ``sample=False`` follows the policy's mean (evaluation);
        ``std`` overrides ``config.std`` (annealing)."""
        if images.dim() == 3:
            images = images[:, None]  # (batch, 1, S, S)
        sizes = expect_shape(images, "batch, 1, S, S2", name="images")
        if sizes["S"] != self.config.image_size or sizes["S2"] != self.config.image_size:
            raise ValueError(
                f"images: expected S = {self.config.image_size}, got shape {tuple(images.shape)}"
            )
        batch, std = sizes["batch"], self.config.std if std is None else std
        h = images.new_zeros(batch, self.config.hidden)  # (batch, hidden)
        loc = images.new_tensor(self.config.start).expand(batch, 2)  # (batch, 2)
        pyramid = image_pyramid(images, self.config.glimpse.retina)  # blurred copies, once
        locations, means, log_probs, baselines, step_logits = [], [], [], [], []
        for t in range(self.config.glimpses):
            locations.append(loc)
            h = self.core(self.glimpse(images, loc, pyramid), h)  # (batch, hidden)
            step_logits.append(self.classifier(h))  # (batch, classes)
            if t == self.config.glimpses - 1:
                break
            mean = self.locator(h)  # (batch, 2)
            noise = torch.randn(batch, 2, generator=generator) if sample else 0.0
            action = (mean + std * noise).detach()  # (batch, 2) sampled, NO gradient path
            log_probs.append(gaussian_log_prob(action, mean, std))  # (batch,) grad -> locator
            baselines.append(self.baseline(h))  # (batch,)
            means.append(mean)
            loc = action.clamp(-1, 1)  # the sensor cannot look outside the image
        return RAMOutput(
            logits=step_logits[-1],
            step_logits=torch.stack(step_logits, 1),  # (batch, T, classes)
            locations=torch.stack(locations, 1),  # (batch, T, 2)
            means=torch.stack(means, 1) if means else images.new_zeros(batch, 0, 2),
            log_probs=torch.stack(log_probs, 1) if log_probs else images.new_zeros(batch, 0),
            baselines=torch.stack(baselines, 1) if baselines else images.new_zeros(batch, 0),
        )

    def loss(
        self,
        images,
        labels,
        pg,
        spread=None,
        entropy_weight=0.0,
        reinforce_weight=1.0,
        generator=None,
    ):
        """The hybrid loss of one batch and its stats (see :mod:`course_lib.hard.policy_training`).

        ``spread`` is the location std; the Gaussian's entropy does not depend on the mean, so
        an entropy bonus has nothing to act on here (``entropy_weight`` is ignored): annealing
        ``spread`` plays its role.
        """
        out = self(images, std=spread, generator=generator)
        terms = hybrid_loss(out, labels, pg, reinforce_weight)
        return terms.total, {
            "reward": terms.reward,
            "classification": float(terms.classification.detach()),
            "baseline_mse": float(terms.baseline.detach()),
        }


@dataclass
class HybridLoss:
    """The terms of the hybrid loss (scalar tensors) and the batch's mean reward."""

    total: torch.Tensor
    classification: torch.Tensor
    reinforce: torch.Tensor
    baseline: torch.Tensor
    reward: float


def hybrid_loss(
    out: RAMOutput,
    labels: torch.Tensor,
    pg: PolicyGradient | None = None,
    reinforce_weight: float = 1.0,
) -> HybridLoss:
    """Cross-entropy + ``reinforce_weight`` * REINFORCE + baseline MSE.

    Reward: 1 if the final prediction is right, else 0, per episode (shared by its steps).
    ``pg`` chooses the baseline and normalisation (default: the learned baseline network).
    """
    expect_shape(labels, "batch", name="labels")
    pg = PolicyGradient("learned") if pg is None else pg
    reward = (out.logits.argmax(-1) == labels).float()  # (batch,) a number: no gradient
    cls = F.cross_entropy(out.logits, labels)
    rl, bl = pg(out.log_probs, reward, out.baselines)  # (R - b).detach() inside
    return HybridLoss(cls + reinforce_weight * rl + bl, cls, rl, bl, float(reward.mean()))


@torch.no_grad()
def ram_error(
    model: RAM,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 500,
    sample: bool = False,
    seed: int = 0,
) -> float:
    """Fraction of ``images`` (n, S, S) misclassified (following the policy's mean unless
    ``sample``)."""
    expect_shape(images, "n, S, S2", name="images")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    wrong = 0
    for chunk, y in zip(images.split(batch_size), labels.split(batch_size), strict=True):
        out = model(chunk[:, None], sample=sample, generator=gen)  # logits (chunk, classes)
        wrong += int((out.logits.argmax(-1) != y).sum())
    return wrong / len(labels)
