"""Checkpoint files of the lessons' trained models: one dict per file, the model's
``state_dict`` beside its record (configs, history, seconds, torch version, ...).

The scripts that make them (``python -m course_lib.pretrained``, ``pretrained_transformers``,
``vision_weights``) write with :func:`write`; the lessons read with :func:`read`, which says
how to make a missing file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn


def write(path: Path, model: nn.Module, info: dict) -> None:
    """Save ``model``'s weights with its record ``info`` to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**info, "state_dict": model.state_dict()}, path)


def read(path: Path, script: str) -> dict:
    """The saved dict at ``path``; a missing file raises ``FileNotFoundError`` naming the
    command ``python -m <script>`` that makes it."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: run `python -m {script}` or load it with retrain=True"
        )
    return torch.load(path, weights_only=True)


def record(saved: dict) -> dict:
    """A saved dict without its weights: the model's record."""
    return {k: v for k, v in saved.items() if k != "state_dict"}


def check_data_config(saved: dict, config: object) -> None:
    """Raise if the checkpoint was trained on other data than ``config`` (a dataclass)."""
    if saved["data_config"] != dataclasses.asdict(config):
        raise ValueError(
            f"data: the checkpoint was trained on {saved['data_config']}, "
            f"got {dataclasses.asdict(config)}; retrain it"
        )
