"""Seeding and counting parameters: the two helpers every lesson's training uses."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

from course_lib.core.shapes import expect_int


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a ``torch.Generator`` seeded the same way."""
    expect_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
