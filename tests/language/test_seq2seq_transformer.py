"""The encoder-decoder transformer on lesson 02's data: masks, cached decoding, training."""

import dataclasses

import pytest
import torch

from course_lib.core.transformer import TransformerConfig
from course_lib.data.translation import (
    TranslationConfig,
    exact_match,
    make_batch,
    make_translation_data,
    sequence_loss,
    translate,
)
from course_lib.language.seq2seq_transformer import (
    TranslationTrainConfig,
    TranslationTransformer,
    TranslationTransformerConfig,
    train_translation_transformer,
    with_eos,
)
from course_lib.train.loops import StepConfig

SMALL = TransformerConfig(d_model=32, n_heads=4, d_ff=64, dropout=0.0)


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return make_translation_data(TranslationConfig(n_train=600, n_val=40, n_test=40, n_long=8))


def model_for(data, seed=0, **kwargs):
    torch.manual_seed(seed)
    config = TranslationTransformerConfig(len(data.src_vocab), len(data.tgt_vocab), SMALL, **kwargs)
    return TranslationTransformer(config).eval()


def test_shapes_padding_and_causality(data):
    model = model_for(data)
    batch = make_batch(data.test[:5], data.src_vocab, data.tgt_vocab)
    logits, weights = model(batch.src, batch.src_lengths, batch.tgt_in)
    b, t = batch.tgt_in.shape
    assert logits.shape == (b, t, len(data.tgt_vocab))
    assert weights.shape == (b, t, batch.src.shape[1] + 1)  # + the <eos> written after a source
    short = int(batch.src_lengths.argmin())
    eos = int(batch.src_lengths[short])  # position of its <eos>
    assert weights[short, :, eos + 1 :].abs().max() == 0  # no weight on padding
    assert weights[short, :, eos].min() > 0
    src = batch.src.clone()
    src[short, batch.src_lengths[short] :] = 7  # change the padding: nothing may move
    assert torch.allclose(model(src, batch.src_lengths, batch.tgt_in)[0], logits, atol=1e-5)
    tgt = batch.tgt_in.clone()
    tgt[:, -1] = 4  # change the last input token: earlier positions may not move
    assert torch.allclose(
        model(batch.src, batch.src_lengths, tgt)[0][:, :-1], logits[:, :-1], atol=1e-5
    )


def test_cached_greedy_equals_recomputing_greedy(data):
    model = model_for(data, seed=1, enc_layers=1, dec_layers=2)
    batch = make_batch(data.test[:7], data.src_vocab, data.tgt_vocab)
    ids, weights = model.greedy(batch.src, batch.src_lengths, max_len=9)
    ids_ref, weights_ref = model.greedy_recompute(batch.src, batch.src_lengths, max_len=9)
    assert torch.equal(ids, ids_ref)
    assert torch.allclose(weights, weights_ref, atol=1e-5)
    with pytest.raises(RuntimeError, match="eval"):
        model.train().greedy(batch.src, batch.src_lengths)


def test_a_short_training_run_learns_and_lesson_02_tools_work(data):
    model = model_for(data, seed=2)
    batch = make_batch(data.train[:64], data.src_vocab, data.tgt_vocab)
    with torch.no_grad():
        before = float(
            sequence_loss(model(batch.src, batch.src_lengths, batch.tgt_in)[0], batch.tgt_out)
        )
    config = TranslationTrainConfig(
        StepConfig(steps=40, lr=3e-3, warmup=5), batch_size=32, n_val=10, eval_every=20
    )
    history = train_translation_transformer(model, data, config)
    with torch.no_grad():
        after = float(
            sequence_loss(model(batch.src, batch.src_lengths, batch.tgt_in)[0], batch.tgt_out)
        )
    assert after < 0.85 * before and history.metric_steps == [20, 40]
    predictions, alignments = translate(model, data.test[:10], data)
    assert 0.0 <= exact_match(predictions, data.test[:10]) <= 1.0
    assert alignments[0].shape[1] == len(data.test[0].src)


def test_eos_is_written_after_each_source(data):
    src, lengths = with_eos(torch.tensor([[5, 6, 7], [8, 0, 0]]), torch.tensor([3, 1]))
    assert src.tolist() == [[5, 6, 7, 3], [8, 3, 0, 0]] and lengths.tolist() == [4, 2]
    plain = model_for(data, src_eos=False)
    batch = make_batch(data.test[:3], data.src_vocab, data.tgt_vocab)
    assert plain(batch.src, batch.src_lengths, batch.tgt_in)[1].shape[-1] == batch.src.shape[1]


def test_config_round_trip_and_errors(data):
    config = model_for(data).config
    assert TranslationTransformerConfig(**dataclasses.asdict(config)) == config
    with pytest.raises(ValueError, match="enc_layers"):
        TranslationTransformerConfig(10, 10, SMALL, enc_layers=0)
    with pytest.raises(TypeError, match="block"):
        TranslationTransformerConfig(10, 10, block="small")
    with pytest.raises(ValueError, match="src and src_lengths"):
        model_for(data).encode(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3]))
