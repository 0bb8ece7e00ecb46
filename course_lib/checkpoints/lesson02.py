"""Lesson 02's checkpoints: the three GRU translation models (no attention, Bahdanau's additive,
Luong's general score), matched in size, trained on the number-translation task.

Training them honestly takes several minutes on two CPU cores, more than a lesson's budget, so
the lesson loads ``weights/02_translation_{none,additive,general}.pt`` by default and can
retrain them in place (``RETRAIN = True`` in the notebook). The files are made with the same
library code the notebook would run::

    python -m course_lib.checkpoints 02                       # all three
    python -m course_lib.checkpoints 02 translation_general   # only this one

Each record holds the model, data and training configs, the per-epoch history (training loss,
validation exact match), the parameter count and the seconds it took.
"""

from __future__ import annotations

import time

from torch import nn

from course_lib.checkpoints import store
from course_lib.data.translation import TranslationConfig, TranslationData, make_translation_data
from course_lib.language.seq2seq import (
    Seq2Seq,
    Seq2SeqConfig,
    TrainConfig,
    config_for_budget,
    train_translation,
)
from course_lib.train.utils import count_parameters, seed_everything

LESSON = "02"
KINDS = ("none", "additive", "general")
NAMES = tuple(f"translation_{kind}" for kind in KINDS)
#: The size every lesson-02 translation model is matched to: the Bahdanau model's.
BASE = dict(emb=32, enc_hidden=64, dec_hidden=128, attn_hidden=64)
DATA = TranslationConfig()
TRAIN = TrainConfig()


def translation_config(kind: str, data: TranslationData) -> Seq2SeqConfig:
    """The model config of ``kind`` for ``data``'s vocabularies, at the common parameter budget."""
    base = Seq2SeqConfig(len(data.src_vocab), len(data.tgt_vocab), "additive", **BASE)
    return config_for_budget(base, kind, count_parameters(Seq2Seq(base)))


def _kind(name: str) -> str:
    return store.check_name(name, NAMES).removeprefix("translation_")


def build(name: str, saved: dict | None = None) -> nn.Module:
    """An untrained model for checkpoint ``name``: the lesson's config, or ``saved``'s (checked
    to be trained on the lesson's data)."""
    kind = _kind(name)
    if saved is None:
        return Seq2Seq(translation_config(kind, make_translation_data(DATA)))
    store.check_config(saved, "data_config", DATA)
    return Seq2Seq(Seq2SeqConfig(**saved["model_config"]))


def train(name: str) -> tuple[nn.Module, dict]:
    """Train checkpoint ``name`` from seed ``TRAIN.seed``; returns the model and its record."""
    kind = _kind(name)
    data = make_translation_data(DATA)
    seed_everything(TRAIN.seed)
    model = Seq2Seq(translation_config(kind, data))
    start = time.monotonic()
    history = train_translation(model, data, TRAIN, desc=kind)
    info = store.make_record(
        model,
        time.monotonic() - start,
        kind=kind,
        model_config=model.config,
        data_config=data.config,
        train_config=TRAIN,
        history=history,
    )
    return model.eval(), info


def load(name: str, retrain: bool = False) -> tuple[nn.Module, dict]:
    """Checkpoint ``name`` (eval mode) and its record; ``retrain=True`` trains it now instead.
    ``record["source"]`` says ``"checkpoint"`` or ``"trained now"``."""
    return store.load(LESSON, NAMES, name, build, train, retrain)
