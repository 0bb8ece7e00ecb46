"""The glimpse network of the recurrent attention model (Mnih et al., 2014).

A glimpse is what the model's retina (:mod:`course_lib.core.retina`: ``scales`` square patches
around a location, sharp in the centre, blurry around) sees at one location;
:class:`GlimpseNetwork` turns (glimpse, location) into one feature vector, as in the paper:
``g = relu(W1 relu(W_g glimpse) + W2 relu(W_l location))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.retina import RetinaConfig, retina
from course_lib.core.shapes import expect_positive_int


@dataclass(frozen=True)
class GlimpseNetConfig:
    """Hidden sizes of the "what" (glimpse) and "where" (location) paths and the output size."""

    retina: RetinaConfig = RetinaConfig()
    what: int = 128
    where: int = 32
    out: int = 128

    def __post_init__(self) -> None:
        for name in ("what", "where", "out"):
            expect_positive_int(getattr(self, name), name)


class GlimpseNetwork(nn.Module):
    """(images (batch, 1, S, S), locations (batch, 2)) -> glimpse features (batch, out).

    ``g = relu(W_what' relu(W_what glimpse) + W_where' relu(W_where location))`` (Mnih et al.,
    eq. in section 4): what was seen and where it was seen, combined.
    """

    def __init__(self, config: GlimpseNetConfig = GlimpseNetConfig()) -> None:
        super().__init__()
        self.config = config
        self.what = nn.Linear(config.retina.size, config.what)
        self.where = nn.Linear(2, config.where)
        self.what_out = nn.Linear(config.what, config.out)
        self.where_out = nn.Linear(config.where, config.out)

    def forward(
        self,
        images: torch.Tensor,
        locations: torch.Tensor,
        pyramid: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        glimpse = retina(images, locations, self.config.retina, pyramid)  # (batch, scales, p, p)
        what = F.relu(self.what(glimpse.flatten(1)))  # (batch, what)
        where = F.relu(self.where(locations))  # (batch, where)
        return F.relu(self.what_out(what) + self.where_out(where))  # (batch, out)
