"""CNN, RNN and transformer classifiers: shapes, receptive fields, positions, a quick fit."""

import pytest
import torch

from course_lib.core.transformer import TransformerConfig
from course_lib.data.toys import order_task
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
from course_lib.train.loops import fit
from course_lib.train.utils import seed_everything

SMALL = TransformerConfig(d_model=16, n_heads=2, d_ff=32)


pytestmark = pytest.mark.usefixtures("one_thread")  # many tiny tensor ops


@pytest.mark.parametrize("positions", ["none", "sinusoidal", "learned", "rope"])
def test_transformer_shapes_and_permutation_equivariance(positions):
    torch.manual_seed(0)
    model = TransformerClassifier(
        TransformerClassifierConfig(vocab=7, block=SMALL, positions=positions, max_len=12)
    ).eval()
    tokens = torch.randint(0, 7, (3, 12))
    assert model(tokens).shape == (3, 2)
    perm = torch.randperm(12)
    states, shuffled = model.encode(tokens), model.encode(tokens[:, perm])
    equivariant = torch.allclose(states[:, perm], shuffled, atol=1e-5)
    assert equivariant == (positions == "none")


def test_cnn_sees_only_its_receptive_field_and_rnn_sees_everything():
    torch.manual_seed(0)
    cnn = CNNClassifier(CNNConfig(vocab=5, channels=8, layers=2, kernel=3))
    assert cnn.config.receptive_field == 5
    x = torch.randint(0, 5, (1, 20))
    y = x.clone()
    y[0, 0] = (x[0, 0] + 1) % 5
    h = [cnn.embed(t).transpose(1, 2) for t in (x, y)]
    for conv in cnn.convs:
        h = [a + torch.relu(conv(a)) for a in h]
    changed = (h[0] - h[1]).abs().sum(1)[0] > 0  # (20,) positions whose features moved
    assert changed[:3].all() and not changed[3:].any()  # half-width 2 = 2 layers x 1
    per_position = CNNClassifier(
        CNNConfig(vocab=5, channels=8, layers=2, kernel=3, readout="tokens")
    )
    per_position.load_state_dict(cnn.state_dict())
    moved = (per_position(x) - per_position(y)).abs().sum(-1)[0] > 0  # (20,)
    assert torch.equal(moved, changed) and per_position(x).shape == (1, 20, 2)
    rnn = RNNClassifier(RNNConfig(vocab=5, emb=4, hidden=8, readout="tokens"))
    outputs = rnn(x) - rnn(y)  # (1, 20, 2): position 0 changed, so every output may change
    assert (outputs.abs().sum(-1) > 0).all()
    z = x.clone()
    z[0, -1] = (x[0, -1] + 1) % 5  # the last token: earlier outputs of a left-to-right GRU stay
    assert torch.allclose(rnn(x)[0, :-1], rnn(z)[0, :-1])
    with pytest.raises(ValueError, match="kernel"):
        CNNConfig(vocab=5, kernel=4)
    with pytest.raises(ValueError, match="readout"):
        RNNConfig(vocab=5, readout="last")


def test_bad_tokens_and_positions_are_refused():
    model = RNNClassifier(RNNConfig(vocab=5))
    with pytest.raises(ValueError, match="vocab=5"):
        model(torch.tensor([[1, 5]]))
    with pytest.raises(TypeError, match="int64"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="positions"):
        TransformerClassifierConfig(vocab=5, positions="relative")


def test_a_short_fit_learns_order_only_with_positions():
    tokens, labels = order_task(200, length=8, vocab=6, seed=0)
    scores = {}
    for positions in ("none", "sinusoidal"):
        seed_everything(0)
        model = TransformerClassifier(
            TransformerClassifierConfig(
                vocab=6,
                layers=1,
                block=TransformerConfig(32, 4, 64),
                positions=positions,
                max_len=8,
            )
        )
        fit(
            model,
            classification_loss,
            lambda epoch: classification_batches(tokens, labels, 32, 0),
            epochs=6,
            lr=3e-3,
        )
        scores[positions] = float((predict(model, tokens) == labels).float().mean())
    assert scores["none"] == 0.5  # the twins get the same prediction
    assert scores["sinusoidal"] > 0.9, scores
