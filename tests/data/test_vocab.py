"""Vocabularies and padding shared by the lesson-02 data sets."""

import pytest
import torch

from course_lib.data.vocab import EOS, PAD, Vocab, pad_ids


def test_specials_come_first_and_ids_are_stable():
    vocab = Vocab(["b", "a", "b"])
    assert vocab.itos[:4] == [PAD, "<unk>", "<bos>", EOS]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert vocab.itos[4:] == ["b", "a"] and len(vocab) == 6 and "a" in vocab
    assert Vocab.from_sequences([["b", "a"], ["c"]]).itos[4:] == ["a", "b", "c"]


def test_encode_decode_round_trip_with_unknowns_and_framing():
    vocab = Vocab(["x", "y"])
    assert vocab.encode(["x", "zz", "y"], bos=True, eos=True) == [2, 4, 1, 5, 3]
    assert vocab.decode([2, 4, 5, 3, 4, 4]) == ["x", "y"]  # stops at <eos>
    assert vocab.decode(torch.tensor([4, 0, 0])) == ["x"]  # padding dropped
    with pytest.raises(TypeError, match="tokens: expected a list of tokens, got one string"):
        vocab.encode("x y")
    with pytest.raises(TypeError, match="tokens: expected strings"):
        Vocab(["a", 3])


def test_pad_ids_shapes_and_values():
    ids, lengths = pad_ids([[5, 6, 7], [8]])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    assert ids.dtype == lengths.dtype == torch.long
    with pytest.raises(ValueError, match="seqs: expected at least one sequence"):
        pad_ids([])
