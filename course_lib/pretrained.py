"""Small trained checkpoints that lessons load by default, and the script that makes them.

Training lesson 02's three translation models honestly takes several minutes on two CPU
cores, more than a lesson's budget, so the lesson loads the checkpoints in ``weights/`` by
default and can retrain them in place (``RETRAIN = True`` in the notebook). The files are
produced by this module's script, with the same library code the notebook would run::

    python -m course_lib.pretrained            # retrain and overwrite weights/02_*.pt

Each file holds the ``state_dict``, the model, data and training configs, the training history
and the seconds it took, so the notebook can show how the models were trained.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

from . import checkpoints
from .data.translation import TranslationConfig, TranslationData, make_translation_data
from .seq2seq import (
    Seq2Seq,
    Seq2SeqConfig,
    TrainConfig,
    config_for_budget,
    count_parameters,
    exact_match,
    train_translation,
    translate,
)
from .training import History, seed_everything

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TRANSLATION_KINDS = ("none", "additive", "general")
#: The size every lesson-02 translation model is matched to: the Bahdanau model's.
BASE = dict(emb=32, enc_hidden=64, dec_hidden=128, attn_hidden=64)
TRAIN = TrainConfig()


def translation_config(kind: str, data: TranslationData) -> Seq2SeqConfig:
    """The model config of ``kind`` for ``data``'s vocabularies, at the common parameter budget."""
    base = Seq2SeqConfig(len(data.src_vocab), len(data.tgt_vocab), "additive", **BASE)
    return config_for_budget(base, kind, count_parameters(Seq2Seq(base)))


def checkpoint_path(kind: str) -> Path:
    if kind not in TRANSLATION_KINDS:
        raise ValueError(f"kind: expected one of {TRANSLATION_KINDS}, got {kind!r}")
    return WEIGHTS_DIR / f"02_translation_{kind}.pt"


def train_translation_model(
    kind: str, data: TranslationData, train: TrainConfig | None = None
) -> tuple[Seq2Seq, dict]:
    """Build and train the ``kind`` model from seed ``train.seed`` (default schedule ``TRAIN``);
    returns it and its record."""
    train = train or TRAIN
    seed_everything(train.seed)
    model = Seq2Seq(translation_config(kind, data))
    start = time.monotonic()
    history = train_translation(model, data, train, desc=kind)
    info = {
        "kind": kind,
        "model_config": dataclasses.asdict(model.config),
        "data_config": dataclasses.asdict(data.config),
        "train_config": dataclasses.asdict(train),
        "history": {"loss": history.loss, "val_exact_match": history.metric},
        "seconds": round(time.monotonic() - start, 1),
        "threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
    }
    return model, info


def load_translation_model(
    kind: str, data: TranslationData, retrain: bool = False
) -> tuple[Seq2Seq, dict]:
    """The trained ``kind`` model: from its checkpoint, or trained now if ``retrain``.

    Returns the model (in eval mode) and its record (configs, history, training seconds);
    ``record["source"]`` says ``"checkpoint"`` or ``"trained now"``.
    """
    path = checkpoint_path(kind)
    if retrain:
        model, info = train_translation_model(kind, data)
        return model.eval(), {**info, "source": "trained now"}
    saved = checkpoints.read(path, "course_lib.pretrained")
    checkpoints.check_data_config(saved, data.config)
    model = Seq2Seq(Seq2SeqConfig(**saved["model_config"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval(), {**checkpoints.record(saved), "source": "checkpoint"}


def history_of(info: dict) -> History:
    """The training history in a record as a :class:`~course_lib.training.History`."""
    return History(list(info["history"]["loss"]), list(info["history"]["val_exact_match"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrain lesson 02's translation checkpoints.")
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=list(TRANSLATION_KINDS),
        choices=TRANSLATION_KINDS,
        help="which models (default: all three)",
    )
    args = parser.parse_args(argv)
    data = make_translation_data(TranslationConfig())
    for kind in args.kinds:
        model, info = train_translation_model(kind, data)
        path = checkpoint_path(kind)
        checkpoints.write(path, model, info)
        score = exact_match(translate(model, data.test, data)[0], data.test)
        print(
            f"{kind}: {count_parameters(model)} parameters, {info['seconds']} s, "
            f"test exact match {score:.4f} -> {path.name}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
