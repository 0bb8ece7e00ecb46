"""Lesson 05's trained checkpoints and the script that makes them.

Training a recurrent attention model (RAM) takes thousands of REINFORCE steps: far more than
a lesson's 2.5-minute budget on two CPU cores. So the lesson loads the checkpoints in
``weights/05_*.pt`` by default and can retrain them (``RETRAIN = True`` in the notebook, or this
script). Each file holds the ``state_dict``, the model and training configs, the training
history, the final test error and the seconds it took::

    python -m course_lib.checkpoints 05                                 # all four, ~1-2 h
    python -m course_lib.checkpoints 05 ram_translated cnn_translated   # only these

Four models: a RAM and a convolutional baseline with (about) the same number of parameters
(:func:`~course_lib.vision.convnets.matched_convnet`), on translated and on cluttered 60x60 digits
(:mod:`course_lib.data.canvases`). All see the same training digits, placed afresh every epoch,
with the same optimiser (Adam) and learning-rate schedule; the test digits are never trained on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checkpoints import store
from course_lib.data.canvases import (
    CLUTTERED,
    TRANSLATED,
    PlacedDigits,
    PlacementConfig,
    placed_draws,
    placed_split,
)
from course_lib.data.digits import draw_groups
from course_lib.hard.glimpse import GlimpseNetConfig
from course_lib.hard.policy_training import PolicyTrainConfig, train_policy
from course_lib.hard.ram import RAM, RAMConfig, ram_error
from course_lib.train.loops import Batches, StepConfig, StepHistory, train_steps
from course_lib.train.utils import count_parameters, seed_everything
from course_lib.vision.convnets import ConvNet, ConvNetConfig, error_rate, matched_convnet

LESSON = "05"
DATASETS: dict[str, PlacementConfig] = {"translated": TRANSLATED, "cluttered": CLUTTERED}
KINDS = ("ram", "cnn")
NAMES = tuple(f"{kind}_{data}" for kind in KINDS for data in DATASETS)
#: The lesson's RAM: 8 glimpses of 3 scales (12, 24, 48 px), as the paper's best cluttered
#: model, and a GRU core of 128 units.
RAM_CONFIG = RAMConfig(glimpse=GlimpseNetConfig(what=64), hidden=128, core="gru", glimpses=8)
RAM_TRAIN = PolicyTrainConfig(steps=32000, lr=1e-3, warmup=200, decay=0.05)
#: The CNN: the same optimiser (Adam) and learning-rate schedule as the RAM, fewer steps (each
#: costs ~45x the RAM's arithmetic); 4,000 steps: its test error has stopped falling.
CNN_TRAIN = StepConfig(
    steps=4000, lr=1e-3, warmup=200, decay="linear", final=0.05, optimizer="adam",
    betas=(0.9, 0.999),
)  # fmt: skip
BATCH = 64
EVAL_EVERY = 500
#: The lesson scores each model on this many random placements of every test digit.
TEST_DRAWS = 10
RECORD_EVERY = 20  # checkpoints keep per-step records as means over blocks of this many steps


def epoch_batches(data: str, batch_size: int = BATCH, seed: int = 0) -> Batches:
    """``batches(epoch)``: the training digits placed afresh for that epoch."""
    config = DATASETS[data]
    return lambda epoch: placed_split("train", config, epoch=epoch, seed=seed).batches(
        batch_size, shuffle=True, seed=epoch
    )


def test_draws(data: str, draws: int = TEST_DRAWS) -> tuple[PlacedDigits, torch.Tensor]:
    """The test digits placed ``draws`` ways on ``data``'s canvases (``"translated"`` or
    ``"cluttered"``): canvases (draws * 1000, 60, 60) and which test digit each shows,
    (draws * 1000,) int64 — the ``groups`` of :func:`course_lib.train.stats.paired`."""
    if data not in DATASETS:
        raise ValueError(f"data: expected one of {tuple(DATASETS)}, got {data!r}")
    canvases = placed_draws("test", DATASETS[data], draws)
    return canvases, draw_groups(len(canvases) // draws, draws)


def cnn_config(ram_config: RAMConfig = RAM_CONFIG) -> ConvNetConfig:
    """The ConvNet whose parameter count is closest to the RAM's."""
    return matched_convnet(count_parameters(RAM(ram_config)))


def build(name: str, saved: dict | None = None) -> nn.Module:
    """An untrained model of checkpoint ``name`` (``saved``: checked to be made on the
    lesson's placements)."""
    kind, data = store.check_name(name, NAMES).split("_")
    if saved is not None:
        store.check_config(saved, "data_config", DATASETS[data])
    return RAM(RAM_CONFIG) if kind == "ram" else ConvNet(cnn_config())


def classification_step(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy of the CNN and, as its per-step ``reward``, the batch accuracy (the RAM's
    reward is 1 for a right answer: the two curves are comparable)."""
    logits = model(images)  # (batch, 10)
    accuracy = float((logits.argmax(-1) == labels).float().mean())
    return F.cross_entropy(logits, labels), {"reward": accuracy}


def policy_style(history: StepHistory) -> dict:
    """A :class:`StepHistory` in the RAM's history layout (per-step ``records``, evaluations
    at ``eval_steps``), so the lesson plots the CNN's and the RAM's curves alike."""
    return {
        "records": {"loss": history.loss, **history.records},
        "eval_steps": history.metric_steps,
        "eval_metric": history.metric,
        "seconds": round(history.seconds, 1),
    }


def compact(history: dict, every: int = RECORD_EVERY) -> dict:
    """Per-step records -> means over blocks of ``every`` steps (keeps checkpoints small)."""
    records = history["records"]
    if history.get("record_every", 1) != 1 or not records:
        return history
    blocks = {name: torch.tensor(values).split(every) for name, values in records.items()}
    return dict(
        history,
        record_every=every,
        records={name: [float(b.mean()) for b in chunks] for name, chunks in blocks.items()},
    )


def train(name: str) -> tuple[nn.Module, dict]:
    """Train checkpoint ``name`` from seed 0; returns the model and its record (per-step
    curves as block means of :data:`RECORD_EVERY` steps)."""
    kind, data = store.check_name(name, NAMES).split("_")
    test = placed_split("test", DATASETS[data])
    seed_everything(0)
    model = build(name)
    if kind == "ram":
        history = train_policy(
            model,
            epoch_batches(data),
            RAM_TRAIN,
            evaluate=lambda m: ram_error(m, test.images, test.labels),
            eval_every=EVAL_EVERY,
            desc=name,
        ).to_dict()
        train_config, error = RAM_TRAIN, ram_error(model, test.images, test.labels)
    else:
        steps = train_steps(
            model,
            classification_step,
            epoch_batches(data),
            CNN_TRAIN,
            evaluate=lambda m: error_rate(m, test.images, test.labels),
            eval_every=EVAL_EVERY,
            desc=name,
        )
        history = policy_style(steps)
        train_config, error = CNN_TRAIN, error_rate(model, test.images, test.labels)
    info = store.make_record(
        model,
        history["seconds"],
        name=name,
        model_config=model.config,
        train_config=train_config,
        data_config=DATASETS[data],
        history=compact(history, RECORD_EVERY),
        test_error=error,
    )
    return model.eval(), info


def load(name: str, retrain: bool = False) -> tuple[nn.Module, dict]:
    """Checkpoint ``name`` (eval mode) and its record; ``retrain=True`` trains it now (hours
    for a RAM). ``record["source"]`` says ``"checkpoint"`` or ``"trained now"``."""
    return store.load(LESSON, NAMES, name, build, train, retrain)
