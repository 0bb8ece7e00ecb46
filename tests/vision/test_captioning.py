"""Tests of course_lib.vision.captioning: one attention step, tokens, the captioner, the metrics."""

import pytest
import torch

from course_lib.core.attention import AdditiveScore, dot_score
from course_lib.data.canvases import Canvases
from course_lib.data.pointing import attention_peaks
from course_lib.vision.captioning import (
    END,
    PAD,
    START,
    CaptionConfig,
    Captioner,
    attend_grid,
    caption_loss,
    caption_tokens,
    pointing_hits,
    sequence_accuracy,
)
from course_lib.vision.convnets import FeatureGridConfig


def test_attend_grid_is_a_softmax_average_over_cells():
    torch.manual_seed(0)
    features = torch.randn(2, 5, 3, 4)  # (batch, d, G_h, G_w)
    hidden = torch.randn(2, 5)
    context, weights = attend_grid(dot_score, hidden, features)
    assert context.shape == (2, 5) and weights.shape == (2, 3, 4)
    cells = features.flatten(2)  # (2, 5, 12)
    expected = torch.softmax(torch.einsum("bd,bdn->bn", hidden, cells), -1)  # (2, 12)
    torch.testing.assert_close(weights.flatten(1), expected)
    torch.testing.assert_close(context, torch.einsum("bn,bdn->bd", expected, cells))
    additive = AdditiveScore(7, 5, 6)
    _, w = attend_grid(additive, torch.randn(2, 7), features)
    torch.testing.assert_close(w.sum((1, 2)), torch.ones(2))
    with pytest.raises(ValueError, match="batch"):
        attend_grid(dot_score, torch.randn(3, 5), features)
    with pytest.raises(ValueError, match="features"):
        attend_grid(dot_score, hidden, torch.randn(2, 5, 12))


def test_caption_tokens():
    labels = torch.tensor([[3, 1, 4], [5, 9, -1]])
    inputs, targets = caption_tokens(labels)
    assert targets.tolist() == [[3, 1, 4, END], [5, 9, END, PAD]]
    assert inputs.tolist() == [[START, 3, 1, 4], [START, 5, 9, END]]


def tiny_captioner():
    torch.manual_seed(0)
    return Captioner(
        CaptionConfig(
            grid=FeatureGridConfig(image_size=32, channels=(4, 4, 8), d_model=8),
            hidden=16,
            embed=4,
            attn_hidden=8,
        )
    )


def test_captioner_shapes_loss_and_greedy_decoding():
    model = tiny_captioner()
    images, labels = torch.rand(3, 1, 32, 32), torch.tensor([[1, 2, -1], [3, 4, 5], [0, 0, 7]])
    inputs, _ = caption_tokens(labels)
    logits, maps = model(images, inputs)
    assert logits.shape == (3, 4, 11) and maps.shape == (3, 4, 4, 4)
    torch.testing.assert_close(maps.sum((2, 3)), torch.ones(3, 4))
    loss = caption_loss(model, images, labels)
    loss.backward()
    assert loss.item() > 0 and model.score.w_v.weight.grad is not None
    tokens, maps = model.generate(images)
    assert tokens.shape == (3, 4) and maps.shape == (3, 4, 4, 4)
    ended = (tokens == END).int().cumsum(1) > 0  # after the first END: only END
    assert (tokens[ended] == END).all()


def test_sequence_accuracy_and_pointing():
    labels = torch.tensor([[1, 2, -1], [3, 4, 5]])
    tokens = torch.tensor([[1, 2, END, END], [3, 4, END, END]])
    assert sequence_accuracy(tokens, labels) == 0.5
    boxes = torch.zeros(2, 3, 4)
    boxes[0, 0] = torch.tensor([0.0, 0.0, 4.0, 4.0])  # top-left quarter of an 8x8 image
    boxes[0, 1] = torch.tensor([4.0, 4.0, 8.0, 8.0])
    boxes[1, 0] = torch.tensor([4.0, 0.0, 8.0, 4.0])
    boxes[1, 1] = torch.tensor([0.0, 4.0, 4.0, 8.0])
    canvases = Canvases(torch.zeros(2, 8, 8), labels, boxes, torch.tensor([2, 3]))
    maps = torch.zeros(2, 4, 2, 2)
    maps[0, 0, 0, 0] = maps[0, 1, 1, 1] = 1.0  # right places
    maps[1, 0, 1, 0] = maps[1, 1, 1, 0] = 1.0  # wrong, then right
    peaks = attention_peaks(maps, 8)
    assert peaks.shape == (2, 4, 2) and peaks[0, 0].tolist() == [2.0, 2.0]  # cell (0, 0) centre
    assert pointing_hits(tokens, maps, canvases) == (2 + 1, 4)
    assert pointing_hits(tokens, maps, canvases, refine=False) == (2 + 1, 4)


def test_refined_peaks_move_towards_heavy_neighbours():
    maps = torch.zeros(1, 4, 4)
    maps[0, 1, 1], maps[0, 1, 2] = 0.6, 0.4  # between cells (1, 1) and (1, 2)
    coarse = attention_peaks(maps, 16, refine=False)[0].tolist()
    fine = attention_peaks(maps, 16)[0].tolist()
    assert coarse == [6.0, 6.0]  # centre of cell (1, 1), cells are 4 px
    assert fine == pytest.approx([6.0 + 0.4 * 4, 6.0])
    corner = torch.zeros(1, 4, 4)
    corner[0, 0, 0] = 1.0
    assert attention_peaks(corner, 16)[0].tolist() == [2.0, 2.0]  # no weight from outside
    with pytest.raises(ValueError, match="maps"):
        attention_peaks(torch.zeros(3, 4), 16)


def test_deep_output_reads_tokens_through_a_hidden_layer():
    torch.manual_seed(0)
    config = CaptionConfig(
        grid=FeatureGridConfig(image_size=32, channels=(4, 4, 8), d_model=8),
        hidden=16,
        embed=4,
        attn_hidden=8,
        deep_output=True,
    )
    model = Captioner(config)
    assert [type(m).__name__ for m in model.out] == ["Linear", "ReLU", "Linear"]
    assert model.out[0].in_features == 16 + 8 and model.out[-1].out_features == 11
    images, labels = torch.rand(2, 1, 32, 32), torch.tensor([[1, 2, -1], [3, 4, 5]])
    caption_loss(model, images, labels).backward()
    assert model.out[0].weight.grad is not None
    assert model.generate(images)[0].shape == (2, 4)
    assert isinstance(tiny_captioner().out, torch.nn.Linear)  # the default: one linear map


def test_in_boxes_includes_the_edges():
    from course_lib.data.pointing import in_boxes

    boxes = torch.tensor([[2.0, 3.0, 6.0, 8.0]]).expand(5, 4)
    points = torch.tensor([[2.0, 3.0], [6.0, 8.0], [4.0, 5.0], [1.9, 5.0], [4.0, 8.1]])
    assert in_boxes(points, boxes).tolist() == [True, True, True, False, False]
