"""Extractive summarisation with attention: shapes, masks, baselines, and it beats lead-k."""

from itertools import combinations

import pytest
import torch

from course_lib.data.summaries import SummaryConfig, make_summary_data, summary_batch
from course_lib.language.rouge import rouge_n, rouge_words
from course_lib.language.summarise import (
    ExtractorConfig,
    SentenceExtractor,
    extract,
    extraction_loss,
    lead_k,
    mean_rouge,
    oracle_k,
    summary_rouge,
    top_k,
)
from course_lib.train.loops import fit
from course_lib.train.utils import seed_everything

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = SummaryConfig(n_train=300, n_val=0, n_test=150, n_people=40, n_cities=12)


@pytest.fixture(scope="module")
def data():
    return make_summary_data(SMALL)


@pytest.mark.parametrize("query", ["learned", "document"])
def test_weights_are_a_distribution_over_the_real_sentences(data, query):
    torch.manual_seed(0)
    model = SentenceExtractor(ExtractorConfig(len(data.vocab), query=query))
    reports = data.train[:5]
    batch = summary_batch(reports, data.vocab)
    weights = model(batch.ids, batch.sentence_lengths, batch.n_sentences)
    assert weights.shape == batch.labels.shape
    assert model.encode(batch.ids, batch.sentence_lengths).shape == (*batch.labels.shape, 32)
    for b, report in enumerate(reports):
        n = len(report.sentences)
        assert weights[b, :n].sum().item() == pytest.approx(1.0, abs=1e-5)
        assert (weights[b, n:] == 0).all()
        # padding changes nothing: the report alone gets the same weights
        alone = summary_batch([report], data.vocab)
        own = model(alone.ids, alone.sentence_lengths, alone.n_sentences)[0]
        assert torch.allclose(own, weights[b, :n], atol=1e-6)


def test_the_model_sees_no_position(data):
    """Reordering the sentences reorders the weights: only the words decide."""
    torch.manual_seed(0)
    model = SentenceExtractor(ExtractorConfig(len(data.vocab)))
    batch = summary_batch(data.train[:1], data.vocab)
    order = torch.randperm(batch.ids.shape[1])
    weights = model(batch.ids, batch.sentence_lengths, batch.n_sentences)[0]
    shuffled = model(batch.ids[:, order], batch.sentence_lengths[:, order], batch.n_sentences)[0]
    assert torch.allclose(shuffled, weights[order], atol=1e-6)


def test_loss_is_smallest_with_even_weight_on_the_labels():
    labels = torch.tensor([[False, True, False, True]])
    even = torch.tensor([[0.0, 0.5, 0.0, 0.5]])
    uneven = torch.tensor([[0.0, 0.9, 0.0, 0.1]])
    spread = torch.tensor([[0.25, 0.25, 0.25, 0.25]])
    assert extraction_loss(even, labels).item() == pytest.approx(
        torch.log(torch.tensor(2.0)).item()
    )
    assert extraction_loss(uneven, labels) > extraction_loss(even, labels)
    assert extraction_loss(spread, labels) > extraction_loss(even, labels)
    with pytest.raises(ValueError, match="labels: shape"):
        extraction_loss(even, labels[:, :3])
    with pytest.raises(TypeError, match="labels: expected dtype torch.bool"):
        extraction_loss(even, labels.float())
    with pytest.raises(ValueError, match="labels: every document needs"):
        extraction_loss(even, torch.zeros(1, 4, dtype=torch.bool))


def test_top_k_lead_k_and_extract():
    weights = torch.tensor([[0.1, 0.5, 0.0, 0.4, 0.0], [0.2, 0.3, 0.5, 0.0, 0.0]])
    assert top_k(weights, torch.tensor([4, 3]), 2) == [[1, 3], [1, 2]]
    assert top_k(weights, torch.tensor([4, 3]), 5) == [[0, 1, 2, 3], [0, 1, 2]]
    assert lead_k(10, 3) == [0, 1, 2] and lead_k(2, 3) == [0, 1]
    with pytest.raises(ValueError, match="k: expected a positive int"):
        lead_k(10, 0)


def test_oracle_is_the_best_choice_and_scores_are_rouge(data):
    for report in data.test[:5]:
        reference = rouge_words(report.reference)

        def score(choice, report=report, reference=reference):
            words = rouge_words(extract(report, choice))
            return rouge_n(words, reference, 1).f + rouge_n(words, reference, 2).f

        best = oracle_k(report, 3)
        assert len(best) == 3 and best == sorted(best)
        every = [score(c) for c in combinations(range(len(report.sentences)), 3)]
        assert score(best) == pytest.approx(max(every))
        picked = summary_rouge(report, list(report.key))
        assert picked["rouge1"] == pytest.approx(
            rouge_n(rouge_words(extract(report, report.key)), reference, 1).f
        )
    with pytest.raises(ValueError, match=r"picks: sentence indices \[99\]"):
        extract(data.test[0], [0, 99])
    with pytest.raises(ValueError, match="reports, picks"):
        mean_rouge(data.test[:2], [[0]])


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="query: expected one of"):
        ExtractorConfig(10, query="position")
    with pytest.raises(ValueError, match="hidden: expected a positive int"):
        ExtractorConfig(10, hidden=0)


def test_trained_extractor_beats_lead_k(data):
    batches = [summary_batch(data.train[s : s + 32], data.vocab) for s in range(0, 300, 32)]

    def loss(model, batch):
        return extraction_loss(
            model(batch.ids, batch.sentence_lengths, batch.n_sentences), batch.labels
        )

    seed_everything(0)
    model = SentenceExtractor(ExtractorConfig(len(data.vocab)))
    fit(model, loss, lambda epoch: ((b,) for b in batches), epochs=25, lr=1e-2)
    test = summary_batch(data.test, data.vocab)
    with torch.no_grad():
        weights = model(test.ids, test.sentence_lengths, test.n_sentences)
    ours = mean_rouge(data.test, top_k(weights, test.n_sentences, 3))
    lead = mean_rouge(data.test, [lead_k(len(r.sentences), 3) for r in data.test])
    assert ours["rouge1"] > lead["rouge1"] + 0.15 and ours["rouge2"] > lead["rouge2"] + 0.15
    few = data.test[:50]  # the oracle tries every choice: on fewer reports
    oracle = mean_rouge(few, [oracle_k(r, 3) for r in few])
    assert mean_rouge(few, top_k(weights[:50], test.n_sentences[:50], 3))["rouge1"] <= (
        oracle["rouge1"] + 1e-9
    )
    assert (weights * test.labels).sum(
        -1
    ).mean() > 0.75  # most weight sits on the news (untrained: ~0.3)
