"""Lesson 07's trained checkpoints and the script that makes them.

The lesson's small models take a few minutes to train on two CPU cores together — more than
the lesson's budget — so it loads ``weights/07_*.pt`` by default and can retrain them
(``RETRAIN = True`` in the notebook, or this script)::

    python -m course_lib.checkpoints 07                     # all of them
    python -m course_lib.checkpoints 07 recall_window       # only this one

- ``07_recall_window.pt``, ``07_recall_window_global.pt``: the two-layer transformer of
  :class:`~course_lib.scale.sparse.SparseRecallModel` on lesson 03's recall task
  (:func:`~course_lib.data.toys.recall_task`), attention limited to 4 neighbours on each
  side, without and with one global token.
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.checkpoints import store
from course_lib.data.toys import IGNORE, RecallConfig, recall_task
from course_lib.scale.sparse import SparseRecallConfig, SparseRecallModel, recall_loss
from course_lib.train.loops import Batches, StepConfig, train_steps
from course_lib.train.utils import seed_everything

LESSON = "07"

# --- sparse attention on the recall task --------------------------------------------------

RECALL = RecallConfig(length=64, n_symbols=8)
RECALL_WINDOW = 4
RECALL_MODELS = {
    "recall_window": SparseRecallConfig(RECALL.vocab, RECALL.n_symbols, window=RECALL_WINDOW),
    "recall_window_global": SparseRecallConfig(
        RECALL.vocab, RECALL.n_symbols, window=RECALL_WINDOW, n_global=1
    ),
}
RECALL_TRAIN = StepConfig(steps=800, lr=3e-3, warmup=50, decay="cosine", clip_grad=1.0)
N_TRAIN, N_TEST, BATCH = 8_000, 1_000, 64

NAMES = (*RECALL_MODELS,)


def recall_data(split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``"train"`` (seed 0) or ``"test"`` (seed 1): tokens, labels, distances (see
    :func:`~course_lib.data.toys.recall_task`)."""
    seeds = {"train": 0, "test": 1}
    if split not in seeds:
        raise ValueError(f"split: expected one of {tuple(seeds)}, got {split!r}")
    return recall_task(N_TRAIN if split == "train" else N_TEST, RECALL, seed=seeds[split])


def recall_batches(tokens: torch.Tensor, labels: torch.Tensor) -> Batches:
    """``batches(epoch)``: the training sequences in a fresh order each epoch."""

    def batches(epoch: int):
        order = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(epoch))
        for start in range(0, len(tokens), BATCH):
            rows = order[start : start + BATCH]
            yield tokens[rows], labels[rows]

    return batches


@torch.no_grad()
def recall_accuracy_by_distance(model: nn.Module) -> tuple[float, torch.Tensor]:
    """Accuracy on the test split over every labelled position, and per distance back to the
    marked symbol (index = distance, NaN where no position has that distance)."""
    tokens, labels, distances = recall_data("test")
    right = (model.eval()(tokens).argmax(-1) == labels).float()  # (N, n)
    keep = labels != IGNORE  # (N, n)
    by_distance = torch.full((RECALL.length,), float("nan"))
    for dist in distances[keep].unique().tolist():
        at = keep & (distances == dist)
        by_distance[dist] = right[at].mean()
    return right[keep].mean().item(), by_distance


def build(name: str, saved: dict | None = None) -> nn.Module:
    """An untrained model of checkpoint ``name`` (``saved``: checked against the lesson's
    task)."""
    store.check_name(name, NAMES)
    if saved is not None:
        store.check_config(saved, "data_config", RECALL)
        store.check_config(saved, "model_config", RECALL_MODELS[name])
    return SparseRecallModel(RECALL_MODELS[name])


def train(name: str) -> tuple[nn.Module, dict]:
    """Train checkpoint ``name`` from seed 0; returns the model and its record."""
    store.check_name(name, NAMES)
    tokens, labels, _ = recall_data("train")
    seed_everything(RECALL_TRAIN.seed)
    model = build(name)
    history = train_steps(
        model, recall_loss, recall_batches(tokens, labels), RECALL_TRAIN, desc=name
    )
    info = store.make_record(
        model,
        history.seconds,
        model_config=RECALL_MODELS[name],
        data_config=RECALL,
        train_config=RECALL_TRAIN,
        history=history,
    )
    return model.eval(), info


def load(name: str, retrain: bool = False) -> tuple[nn.Module, dict]:
    """Checkpoint ``name`` (eval mode) and its record; ``retrain=True`` trains it now.
    ``record["source"]`` says ``"checkpoint"`` or ``"trained now"``."""
    return store.load(LESSON, NAMES, name, build, train, retrain)
