"""Lesson 03's small trained checkpoints, and the script that makes them.

Training lesson 03's models honestly takes longer than a lesson's budget on two CPU cores, so
the lesson loads the files in ``weights/`` by default and can retrain them in place
(``RETRAIN = True`` in the notebook). They are produced by this module's script, with the same
library code the notebook would run::

    python -m course_lib.pretrained_transformers                 # retrain all, overwrite
    python -m course_lib.pretrained_transformers --only translation

- ``03_translation_transformer.pt``: the encoder-decoder transformer
  (:mod:`course_lib.seq2seq_transformer`) on lesson 02's number translation task;
- ``03_recall_{cnn,rnn,transformer}.pt``: the three sequence models of
  :mod:`course_lib.sequence_classifiers` on :func:`course_lib.toy_sequences.recall_task`;
- ``03_stability_curves.pt``: no weights, only the training curves of the small runs of
  :data:`STABILITY_RUNS` (warm-up, gradient clipping, attention dropout).

Each file holds the ``state_dict``, the model, data and training configs, the training history,
the seconds it took and the number of threads, so the notebook can show how it was trained.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import checkpoints
from .data.translation import TranslationConfig, TranslationData, make_translation_data
from .mha_extensions import extend_attention
from .seq2seq import count_parameters
from .seq2seq_transformer import (
    TranslationTrainConfig,
    TranslationTransformer,
    TranslationTransformerConfig,
    train_translation_transformer,
    validation_exact_match,
)
from .sequence_classifiers import (
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
from .step_training import StepConfig, train_steps
from .toy_sequences import IGNORE, RecallConfig, order_task, recall_task
from .training import seed_everything
from .transformer import TransformerConfig

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SCRIPT = "course_lib.pretrained_transformers"  # the command that makes the checkpoints

# --- the translation transformer ----------------------------------------------------------

TRANSLATION_BLOCK = TransformerConfig(d_model=64, n_heads=4, d_ff=128, dropout=0.1)
TRANSLATION_TRAIN = TranslationTrainConfig()


def translation_config(data: TranslationData) -> TranslationTransformerConfig:
    """The translation transformer's config for ``data``'s vocabularies."""
    return TranslationTransformerConfig(
        len(data.src_vocab), len(data.tgt_vocab), TRANSLATION_BLOCK, enc_layers=2, dec_layers=2
    )


def _record(model: nn.Module, history, seconds: float, **configs: object) -> dict:
    return {
        **{name: dataclasses.asdict(c) for name, c in configs.items()},
        "history": dataclasses.asdict(history),
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
        "parameters": count_parameters(model),
    }


def train_translation_model(
    data: TranslationData, train: TranslationTrainConfig = TRANSLATION_TRAIN
) -> tuple[TranslationTransformer, dict]:
    """Build and train the translation transformer from seed ``train.steps.seed``."""
    seed_everything(train.steps.seed)
    model = TranslationTransformer(translation_config(data))
    start = time.monotonic()
    history = train_translation_transformer(model, data, train)
    info = _record(
        model,
        history,
        time.monotonic() - start,
        model_config=model.config,
        data_config=data.config,
        train_config=train,
    )
    info["train_src_lengths"] = source_length_counts(data.train)
    return model.eval(), info


def source_length_counts(pairs) -> list[int]:
    """How many of ``pairs`` have a source of each length 0, 1, 2, ... words (a histogram the
    lesson shows without drawing the training split again)."""
    lengths = [len(p.src) for p in pairs]
    return torch.bincount(torch.tensor(lengths)).tolist()


def translation_path() -> Path:
    return WEIGHTS_DIR / "03_translation_transformer.pt"


def load_translation_model(
    data: TranslationData, retrain: bool = False
) -> tuple[TranslationTransformer, dict]:
    """The trained translation transformer: from its checkpoint, or trained now (``retrain``).
    Returns the model (eval mode) and its record; ``record["source"]`` says which."""
    if retrain:
        model, info = train_translation_model(data)
        return model, {**info, "source": "trained now"}
    saved = checkpoints.read(translation_path(), SCRIPT)
    checkpoints.check_data_config(saved, data.config)
    model = TranslationTransformer(TranslationTransformerConfig(**saved["model_config"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval(), {**checkpoints.record(saved), "source": "checkpoint"}


# --- CNN vs RNN vs transformer on the recall task -----------------------------------------

RECALL = RecallConfig()
RECALL_KINDS = ("cnn", "rnn", "transformer")
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
        lambda epoch: classification_batches(tokens, labels, BATCH, epoch),
        train,
        evaluate=lambda m: recall_accuracy(m, val_tokens, val_labels),
        eval_every=250,
        desc=kind,
    )
    info = _record(model, history, history.seconds, data_config=RECALL, train_config=train)
    return model.eval(), {**info, "kind": kind}


def recall_path(kind: str) -> Path:
    if kind not in RECALL_KINDS:
        raise ValueError(f"kind: expected one of {RECALL_KINDS}, got {kind!r}")
    return WEIGHTS_DIR / f"03_recall_{kind}.pt"


def load_recall_model(kind: str, retrain: bool = False) -> tuple[nn.Module, dict]:
    """The trained ``kind`` model (eval mode) and its record (``source`` says how)."""
    if retrain:
        model, info = train_recall_model(kind)
        return model, {**info, "source": "trained now"}
    saved = checkpoints.read(recall_path(kind), SCRIPT)
    checkpoints.check_data_config(saved, RECALL)
    model = recall_model(kind)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), {**checkpoints.record(saved), "source": "checkpoint"}


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


def run_stability(run: StabilityRun, desc: str = "") -> dict:
    """Train the run's model from seed 0; returns its :class:`StepHistory` as a dict."""
    tokens, labels, model_config, evaluate = _stability_task(run.task)
    seed_everything(0)
    model = TransformerClassifier(TransformerClassifierConfig(layers=run.layers, **model_config))
    if run.attn_dropout:
        extend_attention(model, attn_dropout=run.attn_dropout)
    every = 25 if run.task.startswith("recall") else 50
    history = train_steps(
        model,
        classification_loss,
        lambda epoch: classification_batches(tokens, labels, 32, epoch),
        run.steps,
        evaluate=evaluate,
        eval_every=every,
        desc=desc or run.task,
    )
    return dataclasses.asdict(history)


def stability_path() -> Path:
    return WEIGHTS_DIR / "03_stability_curves.pt"


def load_stability_curves(retrain: bool = False) -> dict:
    """The histories of :data:`STABILITY_RUNS` (name -> per-step loss, grad_norm, lr, metric
    ...): from the saved file (a few hundred KB of curves, no weights), or run now."""
    if retrain:
        return {
            "runs": {name: run_stability(run, name) for name, run in STABILITY_RUNS.items()},
            "source": "trained now",
        }
    saved = checkpoints.read(stability_path(), SCRIPT)
    expected = {name: dataclasses.asdict(run) for name, run in STABILITY_RUNS.items()}
    if saved["configs"] != expected:
        raise ValueError(
            "runs: the saved curves were made with other STABILITY_RUNS; "
            "rerun them with retrain=True"
        )
    return {**saved, "source": "saved curves"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrain lesson 03's checkpoints.")
    parser.add_argument(
        "--only",
        nargs="+",
        default=["translation", *RECALL_KINDS, "stability"],
        choices=["translation", *RECALL_KINDS, "stability"],
        help="which models (default: all)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: these small models run fastest on one)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if "translation" in args.only:
        data = make_translation_data(TranslationConfig())
        model, info = train_translation_model(data)
        checkpoints.write(translation_path(), model, info)
        score = validation_exact_match(model, data.test, data)
        print(
            f"translation: {info['parameters']} parameters, {info['seconds']} s, "
            f"test exact match {score:.4f}",
            flush=True,
        )
    if "stability" in args.only:
        start = time.monotonic()
        runs = {name: run_stability(run, name) for name, run in STABILITY_RUNS.items()}
        WEIGHTS_DIR.mkdir(exist_ok=True)
        torch.save(
            {
                "runs": runs,
                "seconds": round(time.monotonic() - start, 1),
                "configs": {n: dataclasses.asdict(r) for n, r in STABILITY_RUNS.items()},
                "threads": torch.get_num_threads(),
                "torch": str(torch.__version__),
            },
            stability_path(),
        )
        print(f"stability: {len(runs)} runs in {time.monotonic() - start:.0f} s", flush=True)
    for kind in RECALL_KINDS:
        if kind in args.only:
            model, info = train_recall_model(kind)
            checkpoints.write(recall_path(kind), model, info)
            tokens, labels, _ = recall_data("test")
            print(
                f"recall {kind}: {info['parameters']} parameters, {info['seconds']} s, "
                f"test accuracy {recall_accuracy(model, tokens, labels):.4f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
