"""Lesson 03's small trained checkpoints, and the script that makes them.

Training lesson 03's models honestly takes longer than a lesson's budget on two CPU cores, so
the lesson loads the files in ``weights/`` by default and can retrain them in place
(``RETRAIN = True`` in the notebook). They are produced by this module's script, with the same
library code the notebook would run::

    python -m course_lib.checkpoints 03                              # retrain all, overwrite
    python -m course_lib.checkpoints 03 translation_transformer      # only this one

- ``03_translation_transformer.pt``: the encoder-decoder transformer
  (:mod:`course_lib.language.seq2seq_transformer`) on lesson 02's number translation task;
- ``03_recall_{cnn,rnn,transformer}.pt``: the three sequence models of
  :mod:`course_lib.language.sequence_classifiers` on :func:`course_lib.data.toys.recall_task`;
- ``03_stability_curves.pt``: no weights, only the training curves of the small runs of
  :data:`STABILITY_RUNS` (warm-up, gradient clipping, attention dropout).

Each file holds the ``state_dict``, the model, data and training configs, the training history,
the seconds it took and the number of threads, so the notebook can show how it was trained.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch
from torch import nn

from course_lib.checkpoints import store
from course_lib.core.mha_extensions import extend_attention
from course_lib.core.shapes import expect_int
from course_lib.core.transformer import TransformerConfig
from course_lib.data.toys import IGNORE, RecallConfig, order_task, recall_task
from course_lib.data.translation import TranslationConfig, TranslationData, make_translation_data
from course_lib.language.seq2seq_transformer import (
    TranslationTrainConfig,
    TranslationTransformer,
    TranslationTransformerConfig,
    train_translation_transformer,
)
from course_lib.language.sequence_classifiers import (
    CNNClassifier,
    CNNConfig,
    RNNClassifier,
    RNNConfig,
    TransformerClassifier,
    TransformerClassifierConfig,
    classification_batches,
    classification_loss,
    predict,
)
from course_lib.train.loops import StepConfig, train_steps
from course_lib.train.utils import seed_everything

LESSON = "03"
RECALL_KINDS = ("cnn", "rnn", "transformer")
NAMES = (
    "translation_transformer",
    *(f"recall_{kind}" for kind in RECALL_KINDS),
    "stability_curves",  # no weights: the training curves of STABILITY_RUNS
)
DATA = TranslationConfig()

# --- the translation transformer ----------------------------------------------------------

TRANSLATION_BLOCK = TransformerConfig(d_model=64, n_heads=4, d_ff=128, dropout=0.1)
TRANSLATION_TRAIN = TranslationTrainConfig()


def translation_config(data: TranslationData) -> TranslationTransformerConfig:
    """The translation transformer's config for ``data``'s vocabularies."""
    return TranslationTransformerConfig(
        len(data.src_vocab), len(data.tgt_vocab), TRANSLATION_BLOCK, enc_layers=2, dec_layers=2
    )


def train_translation_model(
    data: TranslationData, train: TranslationTrainConfig = TRANSLATION_TRAIN
) -> tuple[TranslationTransformer, dict]:
    """Build and train the translation transformer from seed ``train.steps.seed``."""
    seed_everything(train.steps.seed)
    model = TranslationTransformer(translation_config(data))
    start = time.monotonic()
    history = train_translation_transformer(model, data, train)
    info = store.make_record(
        model,
        time.monotonic() - start,
        model_config=model.config,
        data_config=data.config,
        train_config=train,
        history=history,
        train_src_lengths=source_length_counts(data.train),
    )
    return model.eval(), info


def source_length_counts(pairs) -> list[int]:
    """How many of ``pairs`` have a source of each length 0, 1, 2, ... words (a histogram the
    lesson shows without drawing the training split again)."""
    lengths = [len(p.src) for p in pairs]
    return torch.bincount(torch.tensor(lengths)).tolist()


# --- CNN vs RNN vs transformer on the recall task -----------------------------------------

RECALL = RecallConfig()
RECALL_TRAIN = StepConfig(steps=1500, lr=2e-3, warmup=100, decay="cosine", clip_grad=1.0)
N_TRAIN, N_EVAL, BATCH = 20_000, 2_000, 64


def recall_model(kind: str) -> nn.Module:
    """A fresh per-position model of ``kind`` for :data:`RECALL` (roughly equal sizes)."""
    vocab, n_classes = RECALL.vocab, RECALL.n_symbols
    if kind == "cnn":
        return CNNClassifier(
            CNNConfig(vocab, n_classes, channels=48, layers=4, kernel=5, readout="tokens")
        )
    if kind == "rnn":
        return RNNClassifier(RNNConfig(vocab, n_classes, emb=32, hidden=96, readout="tokens"))
    if kind == "transformer":
        return TransformerClassifier(
            TransformerClassifierConfig(
                vocab,
                n_classes,
                layers=2,
                block=TransformerConfig(d_model=48, n_heads=4, d_ff=96),
                positions="sinusoidal",
                max_len=RECALL.length,
                readout="tokens",
            )
        )
    raise ValueError(f"kind: expected one of {RECALL_KINDS}, got {kind!r}")


def recall_data(split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``"train"`` (seed 0), ``"val"`` (seed 1) or ``"test"`` (seed 2) split of the recall
    task: tokens, per-position labels and distances (see :func:`recall_task`)."""
    seeds = {"train": 0, "val": 1, "test": 2}
    if split not in seeds:
        raise ValueError(f"split: expected one of {tuple(seeds)}, got {split!r}")
    return recall_task(N_TRAIN if split == "train" else N_EVAL, RECALL, seed=seeds[split])


def recall_accuracy(model: nn.Module, tokens: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of the labelled positions whose symbol ``model`` recalls."""
    keep = labels != IGNORE  # (N, n)
    return float((predict(model, tokens) == labels)[keep].float().mean())


def train_recall_model(kind: str, train: StepConfig = RECALL_TRAIN) -> tuple[nn.Module, dict]:
    """Train the ``kind`` model on the recall task; validation accuracy every 250 steps."""
    tokens, labels, _ = recall_data("train")
    val_tokens, val_labels, _ = recall_data("val")
    seed_everything(train.seed)
    model = recall_model(kind)
    history = train_steps(
        model,
        classification_loss,
        lambda epoch: classification_batches(tokens, labels, BATCH, seed=epoch + 1),
        train,
        evaluate=lambda m: recall_accuracy(m, val_tokens, val_labels),
        eval_every=250,
        desc=kind,
    )
    info = store.make_record(
        model, history.seconds, data_config=RECALL, train_config=train, history=history
    )
    return model.eval(), {**info, "kind": kind}


# --- training-stability levers --------------------------------------------------------------


@dataclass(frozen=True)
class StabilityRun:
    """One training run of a small transformer for the stability experiments.

    ``task``: ``"recall64"`` / ``"recall32"`` (:func:`recall_task` with sequences of 64 / 32
    symbols, accuracy on 1,000 validation sequences) or ``"noisy_order"`` (:func:`order_task`,
    200 twin pairs with 20% of the training labels flipped; the clean validation loss)."""

    task: str
    layers: int
    steps: StepConfig
    attn_dropout: float = 0.0


STABILITY_RUNS = {
    "warm-up: none": StabilityRun("recall64", 4, StepConfig(steps=200, lr=0.1)),
    "warm-up: 100 steps": StabilityRun("recall64", 4, StepConfig(steps=200, lr=0.1, warmup=100)),
    "clipping: none": StabilityRun("recall32", 2, StepConfig(steps=150, lr=0.3, optimizer="sgd")),
    "clipping: norm 1": StabilityRun(
        "recall32", 2, StepConfig(steps=150, lr=0.3, optimizer="sgd", clip_grad=1.0)
    ),
    "attention dropout: 0": StabilityRun(
        "noisy_order", 2, StepConfig(steps=800, lr=3e-3, warmup=50)
    ),
    "attention dropout: 0.3": StabilityRun(
        "noisy_order", 2, StepConfig(steps=800, lr=3e-3, warmup=50), attn_dropout=0.3
    ),
}


def _stability_task(task: str):
    """Training tensors, the model config and an evaluation function for ``task``."""
    block = TransformerConfig(d_model=32, n_heads=4, d_ff=64)
    if task in ("recall64", "recall32"):
        config = RecallConfig(length=64 if task == "recall64" else 32)
        tokens, labels, _ = recall_task(4000, config, seed=0)
        val_tokens, val_labels, _ = recall_task(1000, config, seed=1)
        model_config = dict(
            vocab=config.vocab,
            n_classes=config.n_symbols,
            block=block,
            max_len=config.length,
            readout="tokens",
        )
        return tokens, labels, model_config, lambda m: recall_accuracy(m, val_tokens, val_labels)
    if task == "noisy_order":
        tokens, labels = order_task(200, length=16, vocab=12, seed=0)
        flip = torch.rand(len(labels), generator=torch.Generator().manual_seed(5)) < 0.2
        labels = torch.where(flip, 1 - labels, labels)  # 20% wrong labels to memorise
        val_tokens, val_labels = order_task(500, length=16, vocab=12, seed=1)
        model_config = dict(vocab=12, n_classes=2, block=block, max_len=16)
        return (
            tokens,
            labels,
            model_config,
            lambda m: float(classification_loss(m, val_tokens, val_labels)),
        )
    raise ValueError(f"task: expected 'recall64', 'recall32' or 'noisy_order', got {task!r}")


def run_stability(run: StabilityRun, desc: str = "", seed: int = 0) -> dict:
    """Train the run's model from ``seed`` (the checkpoint's curves: seed 0); returns its
    :class:`StepHistory` as a dict."""
    seed = expect_int(seed, "seed")
    tokens, labels, model_config, evaluate = _stability_task(run.task)
    seed_everything(seed)
    model = TransformerClassifier(TransformerClassifierConfig(layers=run.layers, **model_config))
    if run.attn_dropout:
        extend_attention(model, attn_dropout=run.attn_dropout)
    every = 25 if run.task.startswith("recall") else 50
    history = train_steps(
        model,
        classification_loss,
        lambda epoch: classification_batches(tokens, labels, 32, seed=epoch + 1),
        run.steps,
        evaluate=evaluate,
        eval_every=every,
        desc=desc or run.task,
    )
    return dataclasses.asdict(history)


def stability_curves() -> dict:
    """Run every one of :data:`STABILITY_RUNS` (name -> its per-step curves) and return the
    record of the ``stability_curves`` checkpoint (curves only, no weights)."""
    start = time.monotonic()
    runs = {name: run_stability(run, name) for name, run in STABILITY_RUNS.items()}
    configs = {name: dataclasses.asdict(run) for name, run in STABILITY_RUNS.items()}
    return store.make_record(None, time.monotonic() - start, runs=runs, configs=configs)


# --- the checkpoint API (store.load) ------------------------------------------------------------


def build(name: str, saved: dict | None = None) -> nn.Module | None:
    """An untrained model for checkpoint ``name`` (``None`` for ``stability_curves``, which holds
    no weights); ``saved``'s configs are checked against the lesson's."""
    store.check_name(name, NAMES)
    if name == "translation_transformer":
        if saved is None:
            return TranslationTransformer(translation_config(make_translation_data(DATA)))
        store.check_config(saved, "data_config", DATA)
        return TranslationTransformer(TranslationTransformerConfig(**saved["model_config"]))
    if name == "stability_curves":
        if saved is not None:
            expected = {n: dataclasses.asdict(r) for n, r in STABILITY_RUNS.items()}
            store.check_config(saved, "configs", expected)
        return None
    if saved is not None:
        store.check_config(saved, "data_config", RECALL)
    return recall_model(name.removeprefix("recall_"))


def train(name: str) -> tuple[nn.Module | None, dict]:
    """Train checkpoint ``name`` from scratch; returns the model (``None`` for the curves) and
    its record."""
    store.check_name(name, NAMES)
    if name == "translation_transformer":
        return train_translation_model(make_translation_data(DATA))
    if name == "stability_curves":
        return None, stability_curves()
    return train_recall_model(name.removeprefix("recall_"))


def load(name: str, retrain: bool = False) -> tuple[nn.Module | None, dict]:
    """Checkpoint ``name`` (eval mode; ``None`` for ``stability_curves``) and its record;
    ``retrain=True`` trains it now. ``record["source"]`` says ``"checkpoint"`` or
    ``"trained now"``."""
    return store.load(LESSON, NAMES, name, build, train, retrain)
