"""GRU encoder-decoders without and with attention (lesson 02)."""

import pytest
import torch

from course_lib.data.translation import (
    TranslationConfig,
    exact_match,
    make_batch,
    make_translation_data,
    translate,
)
from course_lib.data.vocab import EOS_ID, PAD_ID
from course_lib.language.seq2seq import (
    Decoder,
    Seq2Seq,
    Seq2SeqConfig,
    TrainConfig,
    config_for_budget,
    train_translation,
)
from course_lib.train.utils import count_parameters

KINDS = ("none", "additive", "general", "dot")


def small(kind: str) -> Seq2Seq:
    torch.manual_seed(0)
    return Seq2Seq(
        Seq2SeqConfig(
            src_vocab=20,
            tgt_vocab=9,
            attention=kind,
            emb=6,
            enc_hidden=5,
            dec_hidden=10,
            attn_hidden=7,
        )
    ).eval()


def batch(lengths=(5, 2, 4), tgt_len=3):
    torch.manual_seed(1)
    src = torch.randint(4, 20, (len(lengths), max(lengths)))
    lengths = torch.tensor(lengths)
    src = src.masked_fill(torch.arange(src.shape[1])[None] >= lengths[:, None], PAD_ID)
    return src, lengths, torch.randint(4, 9, (len(lengths), tgt_len))


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_zero_attention_on_padding(kind):
    model = small(kind)
    src, lengths, tgt_in = batch()
    logits, weights = model(src, lengths, tgt_in)
    assert logits.shape == (3, 3, 9)
    if kind == "none":
        assert weights is None
        return
    assert weights.shape == (3, 3, 5)
    padded = torch.arange(5)[None, None] >= lengths[:, None, None]  # (3, 1, 5)
    assert (weights.masked_select(padded.expand_as(weights)) == 0).all()
    assert torch.allclose(weights.sum(-1), torch.ones(3, 3))
    ids, greedy_weights = model.greedy(src, lengths, max_len=4)
    assert ids.shape[0] == 3 and greedy_weights.shape[:2] == ids.shape
    assert (greedy_weights.masked_select(padded.expand_as(greedy_weights)) == 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_padding_does_not_change_a_sentence_translation(kind):
    model = small(kind)
    src, lengths, tgt_in = batch()
    logits, _ = model(src, lengths, tgt_in)
    alone, _ = model(src[1:2, :2], lengths[1:2], tgt_in[1:2])  # no padding at all
    assert torch.allclose(logits[1], alone[0], atol=1e-5)


@pytest.mark.parametrize("kind", ["none", "general", "dot"])
def test_parallel_teacher_forcing_equals_the_step_loop(kind):
    model = small(kind)
    src, lengths, tgt_in = batch()
    memory, summary = model.encoder(src, lengths)
    mask = torch.arange(5)[None, None] < lengths[:, None, None]
    fast = model.decoder(tgt_in, memory, summary, mask)[0]
    slow = Decoder.forward(model.decoder, tgt_in, memory, summary, mask)[0]
    assert torch.allclose(fast, slow, atol=1e-5)


def test_greedy_pads_after_eos():
    model = small("additive")
    with torch.no_grad():
        model.decoder.out.bias.fill_(-10.0)
        model.decoder.out.bias[EOS_ID] = 10.0  # always predicts <eos>
    ids, _ = model.greedy(*batch()[:2], max_len=5)
    assert ids.tolist() == [[EOS_ID]] * 3


def test_equal_parameter_budgets():
    base = Seq2SeqConfig(src_vocab=100, tgt_vocab=15)
    budget = count_parameters(Seq2Seq(base))
    for kind in ("none", "general"):
        config = config_for_budget(base, kind, budget)
        assert config.attention == kind
        assert abs(count_parameters(Seq2Seq(config)) - budget) / budget < 0.02
    assert config_for_budget(base, "dot", budget).dec_hidden == 2 * base.enc_hidden


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"attention": "luong"}, "attention: expected one of"),
        ({"emb": 0}, "emb: expected a positive int"),
        ({"attention": "dot", "dec_hidden": 7}, "dec_hidden: the dot score needs"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Seq2SeqConfig(src_vocab=10, tgt_vocab=10, **kwargs)


def test_encoder_names_mismatched_lengths():
    model = small("additive")
    src, lengths, tgt_in = batch()
    with pytest.raises(ValueError, match="src and lengths batch sizes must match"):
        model(src, lengths[:2], tgt_in)


def test_short_training_learns_two_digit_numbers():
    torch.set_num_threads(1)
    data = make_translation_data(
        TranslationConfig(
            languages=("en",), max_items=1, max_digits=2, n_train=40, n_val=10, n_test=10, n_long=0
        )
    )
    torch.manual_seed(0)
    model = Seq2Seq(
        Seq2SeqConfig(
            len(data.src_vocab),
            len(data.tgt_vocab),
            "additive",
            emb=16,
            enc_hidden=16,
            dec_hidden=32,
            attn_hidden=16,
        )
    )
    untrained = model(
        *(lambda b: (b.src, b.src_lengths, b.tgt_in))(
            make_batch(data.train, data.src_vocab, data.tgt_vocab)
        )
    )[0]
    history = train_translation(
        model, data, TrainConfig(stages=((30, 1e-2),), batch_size=20, n_val=10)
    )
    assert history.loss[-1] < 0.1 * history.loss[0]
    predictions, alignments = translate(model, data.train, data)
    assert exact_match(predictions, data.train) > 0.9
    assert untrained.shape[-1] == len(data.tgt_vocab)
    assert alignments[0].shape == (len(predictions[0]) + 1, len(data.train[0].src))
    with pytest.raises(ValueError, match="predictions: 1 predictions for 2 pairs"):
        exact_match([["1"]], data.train[:2])
