"""ROUGE-N and ROUGE-L against hand-computed examples."""

import pytest

from course_lib.language.rouge import lcs_length, ngrams, rouge_l, rouge_n, rouge_words

CAND = "the cat the cat sat".split()
REF = "the cat sat on the mat".split()


def test_rouge_1_clips_repeated_words():
    # candidate: the x2, cat x2, sat (5); reference: the x2, cat, sat, on, mat (6)
    # overlap: min(2, 2) + min(2, 1) + min(1, 1) = 4, not 5: the second "cat" is not in REF twice
    score = rouge_n(CAND, REF, 1)
    assert score.precision == pytest.approx(4 / 5)
    assert score.recall == pytest.approx(4 / 6)
    assert score.f == pytest.approx(8 / 11)  # 2 * (4/5) * (2/3) / (4/5 + 2/3)


def test_rouge_2_counts_bigrams():
    # candidate: (the cat) x2, (cat the), (cat sat): 4; reference: 5 bigrams
    # overlap: (the cat) min(2, 1) + (cat sat) 1 = 2
    score = rouge_n(CAND, REF, 2)
    assert (score.precision, score.recall) == (pytest.approx(2 / 4), pytest.approx(2 / 5))
    assert score.f == pytest.approx(4 / 9)


def test_rouge_l_uses_the_longest_common_subsequence():
    assert lcs_length(CAND, REF) == 3  # "the cat sat"
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4  # the textbook example
    assert lcs_length([], REF) == 0
    score = rouge_l(CAND, REF)
    assert (score.precision, score.recall) == (pytest.approx(3 / 5), pytest.approx(3 / 6))
    assert score.f == pytest.approx(6 / 11)
    # order matters for L but not for 1: the reversed reference has the same words
    assert rouge_n(REF[::-1], REF, 1).f == 1.0 and rouge_l(REF[::-1], REF).f < 1.0


def test_identical_disjoint_and_swapped():
    for n in (1, 2, 3):
        assert rouge_n(REF, REF, n).f == 1.0
        assert rouge_n(["a", "b", "c"], REF, n).f == 0.0
        ab, ba = rouge_n(CAND, REF, n), rouge_n(REF, CAND, n)
        assert (ab.precision, ab.recall) == (ba.recall, ba.precision)
    assert rouge_l(REF, REF).f == 1.0


def test_empty_candidate_scores_zero_empty_reference_raises():
    assert rouge_n([], REF, 1).f == 0.0 and rouge_n(["the"], REF, 2).precision == 0.0
    assert rouge_l([], REF).f == 0.0
    with pytest.raises(ValueError, match="reference: has no 1-grams"):
        rouge_n(CAND, [], 1)
    with pytest.raises(ValueError, match="reference: has no 2-grams .1 tokens.*at least 2"):
        rouge_n(CAND, ["cat"], 2)
    with pytest.raises(ValueError, match="reference: is empty"):
        rouge_l(CAND, [])


def test_bad_inputs_name_the_argument():
    with pytest.raises(TypeError, match="candidate: .*one string .split it first"):
        rouge_n("the cat sat", REF)
    with pytest.raises(TypeError, match="reference: expected string tokens"):
        rouge_n(CAND, [1, 2, 3])
    with pytest.raises(ValueError, match="n: expected a positive int"):
        rouge_n(CAND, REF, 0)
    with pytest.raises(TypeError, match="tokens: expected a sequence"):
        rouge_words(None)


def test_words_and_ngrams():
    assert rouge_words(["The", "Cat", ",", "sat", ".", "3rd"]) == ["the", "cat", "sat", "3rd"]
    assert ngrams(CAND, 2)[("the", "cat")] == 2 and sum(ngrams(CAND, 2).values()) == 4
    assert ngrams(["a"], 2) == {}
