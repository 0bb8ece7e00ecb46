"""Lesson 05's trained checkpoints and the script that makes them.

Training a recurrent attention model (RAM) takes thousands of REINFORCE steps: far more than
a lesson's 2.5-minute budget on two CPU cores. So the lesson loads the checkpoints in
``weights/05_*.pt`` by default and can retrain them (``RETRAIN = True`` in the notebook, or this
script). Each file holds the ``state_dict``, the model and training configs, the training
history, the final test error and the seconds it took::

    python -m course_lib.ram_weights                      # all four, ~1-2 h on one CPU core
    python -m course_lib.ram_weights --only ram_translated cnn_translated

Four models: a RAM and a convolutional baseline with (about) the same number of parameters
(:func:`~course_lib.vision.matched_convnet`), on translated and on cluttered 60x60 digits
(:mod:`course_lib.glimpse_data`). All see the same training digits, placed afresh every epoch,
with the same optimiser (Adam) and learning-rate schedule; the test digits are never trained on.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import checkpoints
from .glimpse import GlimpseNetConfig
from .glimpse_data import CLUTTERED, TRANSLATED, PlacementConfig, placed_split
from .policy_training import PolicyHistory, PolicyTrainConfig, lr_factor, train_policy
from .ram import RAM, RAMConfig, ram_error
from .training import seed_everything
from .vision import ConvNet, ConvNetConfig, count_parameters, error_rate, matched_convnet

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DATASETS: dict[str, PlacementConfig] = {"translated": TRANSLATED, "cluttered": CLUTTERED}
KINDS = ("ram", "cnn")
NAMES = tuple(f"{kind}_{data}" for kind in KINDS for data in DATASETS)
#: The lesson's RAM: 6 glimpses of 3 scales (12, 24, 48 px), a GRU core of 128 units.
RAM_CONFIG = RAMConfig(glimpse=GlimpseNetConfig(what=64), hidden=128, core="gru", glimpses=6)
RAM_TRAIN = PolicyTrainConfig(steps=16000, lr=1e-3, warmup=200, decay=0.05)
BATCH = 64
CNN_STEPS = 800
EVAL_EVERY = 500
RECORD_EVERY = 20  # checkpoints keep per-step records as means over blocks of this many steps


def checkpoint_path(name: str) -> Path:
    if name not in NAMES:
        raise ValueError(f"name: expected one of {NAMES}, got {name!r}")
    return WEIGHTS_DIR / f"05_{name}.pt"


def epoch_batches(data: str, batch_size: int = BATCH, seed: int = 0):
    """``epoch -> mini-batches`` of the training digits placed afresh for that epoch."""
    config = DATASETS[data]
    return lambda epoch: placed_split("train", config, epoch=epoch, seed=seed).batches(
        batch_size, shuffle=True, seed=epoch
    )


def cnn_config(ram_config: RAMConfig = RAM_CONFIG) -> ConvNetConfig:
    """The ConvNet whose parameter count is closest to the RAM's."""
    return matched_convnet(count_parameters(RAM(ram_config)))


def train_classifier(
    model: nn.Module,
    batches,
    steps: int,
    lr: float = 1e-3,
    warmup: int = 200,
    decay: float = 0.05,
    evaluate=None,
    eval_every: int = 0,
    desc: str = "CNN",
) -> PolicyHistory:
    """Plain supervised training (cross-entropy, Adam, the RAM's learning-rate schedule);
    returns a :class:`~course_lib.policy_training.PolicyHistory` (``reward`` = batch accuracy)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    factor = lr_factor(steps, warmup, decay)
    history, start, epoch, queue = PolicyHistory(), time.monotonic(), 0, iter(())
    for step in tqdm(range(steps), desc=desc, leave=False):
        batch = next(queue, None)
        while batch is None:
            queue, epoch = iter(batches(epoch)), epoch + 1
            batch = next(queue, None)
        images, labels = batch
        for group in opt.param_groups:
            group["lr"] = lr * factor(step)
        model.train()
        logits = model(images)  # (batch, 10)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.records.setdefault("loss", []).append(float(loss.detach()))
        history.records.setdefault("reward", []).append(
            float((logits.argmax(-1) == labels).float().mean())
        )
        if evaluate is not None and (
            step == steps - 1 or (eval_every and (step + 1) % eval_every == 0)
        ):
            history.eval_steps.append(step + 1)
            history.eval_metric.append(float(evaluate(model)))
    history.seconds = round(time.monotonic() - start, 1)
    model.eval()
    return history


def build(name: str) -> nn.Module:
    """An untrained model of checkpoint ``name``."""
    checkpoint_path(name)
    return RAM(RAM_CONFIG) if name.startswith("ram") else ConvNet(cnn_config())


def train(name: str, steps: int | None = None) -> tuple[nn.Module, dict]:
    """Train checkpoint ``name`` from seed 0; returns the model and its record."""
    kind, data = name.split("_")
    test = placed_split("test", DATASETS[data])
    seed_everything(0)
    model = build(name)
    if kind == "ram":
        config = RAM_TRAIN if steps is None else dataclasses.replace(RAM_TRAIN, steps=steps)
        history = train_policy(
            model,
            epoch_batches(data),
            config,
            evaluate=lambda m: ram_error(m, test.images, test.labels),
            eval_every=EVAL_EVERY,
            desc=name,
        )
        train_config = dataclasses.asdict(config)
        error = ram_error(model, test.images, test.labels)
    else:
        n = CNN_STEPS if steps is None else steps
        history = train_classifier(
            model,
            epoch_batches(data),
            n,
            evaluate=lambda m: error_rate(m, test.images, test.labels),
            eval_every=EVAL_EVERY,
            desc=name,
        )
        train_config = {"steps": n, "lr": 1e-3, "warmup": 200, "decay": 0.05, "batch": BATCH}
        error = error_rate(model, test.images, test.labels)
    info = {
        "name": name,
        "model_config": dataclasses.asdict(model.config),
        "train_config": train_config,
        "data_config": dataclasses.asdict(DATASETS[data]),
        "history": history.to_dict(),
        "test_error": error,
        "parameters": count_parameters(model),
        "seconds": history.seconds,
        "threads": torch.get_num_threads(),
        "torch": str(torch.__version__),  # text: a checkpoint loads with weights_only=True
    }
    return model, info


def load(name: str, retrain: bool = False) -> tuple[nn.Module, dict]:
    """The trained model ``name`` and its record: from its checkpoint, or trained now."""
    if retrain:
        return train(name)
    path = checkpoint_path(name)
    saved = checkpoints.read(path, f"course_lib.ram_weights --only {name}")
    model = build(name)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, checkpoints.record(saved)


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


def save(name: str, model: nn.Module, info: dict) -> Path:
    """Write checkpoint ``name`` (its history compacted to block means)."""
    path = checkpoint_path(name)
    checkpoints.write(path, model, dict(info, history=compact(info["history"])))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES))
    parser.add_argument("--steps", type=int, default=None, help="override the step count")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for name in args.only:
        model, info = train(name, args.steps)
        path = save(name, model, info)
        print(
            f"{name}: test error {info['test_error']:.4f}, {info['parameters']} parameters, "
            f"{info['seconds']:.0f} s -> {path}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
