"""The one store of the lessons' checkpoints: ``weights/<lesson>_<name>.pt``, each a dict of
the model's ``state_dict`` beside its record (configs, history, parameters, seconds, threads,
torch version as text, so every file loads with ``weights_only=True``).

Each lesson module (``lesson02`` ... ``lesson05``) says what its checkpoints are (``NAMES``),
how to build one (``build``) and how to train one (``train``); this module does the rest the
same way for all: where a file lies, writing and reading it, the record, and :func:`load`,
which reads a checkpoint or retrains it. ``python -m course_lib.checkpoints LESSON [NAME...]``
remakes the files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from course_lib.train.loops import History
from course_lib.train.utils import count_parameters

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
LESSONS = ("02", "03", "04", "05", "07")

#: ``build(name, saved)``: an untrained model for checkpoint ``name`` (``saved``: a read
#: checkpoint whose configs to use, and to check against the lesson's data), or ``None`` for a
#: checkpoint that holds only curves.
Build = Callable[[str, dict | None], nn.Module | None]
#: ``train(name)``: the model trained from scratch and its record.
Train = Callable[[str], tuple[nn.Module | None, dict]]


def check_name(name: str, names: Sequence[str]) -> str:
    """``name`` if it is one of ``names``; otherwise a ``ValueError`` listing them."""
    if name not in names:
        raise ValueError(f"name: expected one of {tuple(names)}, got {name!r}")
    return name


def path(lesson: str, name: str) -> Path:
    """Where checkpoint ``name`` of ``lesson`` (``"02"`` ... ``"05"``) lies."""
    if lesson not in LESSONS:
        raise ValueError(f"lesson: expected one of {LESSONS}, got {lesson!r}")
    return WEIGHTS_DIR / f"{lesson}_{name}.pt"


def command(lesson: str, name: str) -> str:
    """The shell command that remakes checkpoint ``name`` of ``lesson``."""
    return f"python -m course_lib.checkpoints {lesson} {name}"


def write(file: Path, model: nn.Module | None, info: dict) -> None:
    """Save ``model``'s weights (none for a record of curves only) with its record ``info``."""
    file.parent.mkdir(parents=True, exist_ok=True)
    weights = {} if model is None else {"state_dict": model.state_dict()}
    torch.save({**info, **weights}, file)


def read(lesson: str, name: str) -> dict:
    """The saved dict of checkpoint ``name``; a missing file raises ``FileNotFoundError``
    naming the command that makes it."""
    file = path(lesson, name)
    if not file.exists():
        raise FileNotFoundError(
            f"{file} is missing: run `{command(lesson, name)}` or load it with retrain=True"
        )
    return torch.load(file, weights_only=True)


def record(saved: dict) -> dict:
    """A saved dict without its weights: the model's record."""
    return {k: v for k, v in saved.items() if k != "state_dict"}


def make_record(model: nn.Module | None, seconds: float, **fields: object) -> dict:
    """A checkpoint's record: ``fields`` (dataclass configs and histories become dicts), the
    parameter count, the training seconds, the threads and the torch version (as text)."""
    info = {
        key: dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        for key, value in fields.items()
    }
    if model is not None:
        info["parameters"] = count_parameters(model)
    return {
        **info,
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
    }


def check_config(saved: dict, key: str, config: object) -> None:
    """Raise if the checkpoint's ``saved[key]`` is not ``config`` (a dataclass or a dict): the
    checkpoint was made with other data or settings than the lesson's."""
    expected = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
    if saved[key] != expected:
        raise ValueError(
            f"{key}: the checkpoint was made with {saved[key]}, the lesson uses {expected}; "
            "retrain it (retrain=True)"
        )


def history_of(info: dict) -> History:
    """The per-epoch history in a record (``{"loss": [...], "metric": [...]}``) as a
    :class:`~course_lib.train.loops.History`."""
    return History(list(info["history"]["loss"]), list(info["history"]["metric"]))


def load(
    lesson: str,
    names: Sequence[str],
    name: str,
    build: Build,
    train: Train,
    retrain: bool = False,
) -> tuple[nn.Module | None, dict]:
    """Checkpoint ``name`` (one of ``names``) of ``lesson``: the model (eval mode) and its
    record, read from its file, or trained now if ``retrain``. ``record["source"]`` says
    ``"checkpoint"`` or ``"trained now"``."""
    check_name(name, names)
    if retrain:
        model, info = train(name)
        source = "trained now"
    else:
        saved = read(lesson, name)
        model = build(name, saved)
        if model is not None:
            model.load_state_dict(saved["state_dict"])
        info, source = record(saved), "checkpoint"
    return (None if model is None else model.eval()), {**info, "source": source}
