"""Tests of course_lib.vision.detection: boxes, Hungarian matching, DETR-lite and its loss."""

import itertools

import pytest
import torch

from course_lib.core.transformer import TransformerConfig
from course_lib.data.canvases import Canvases
from course_lib.vision.convnets import FeatureGridConfig
from course_lib.vision.detection import (
    NO_OBJECT,
    DetrConfig,
    DetrLite,
    box_iou,
    cxcywh_to_xyxy,
    evaluate_detector,
    generalized_box_iou,
    hungarian_match,
    set_loss,
    xyxy_to_cxcywh,
)


def test_box_conversions_and_iou():
    xyxy = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0], [5.0, 5.0, 6.0, 7.0]])
    torch.testing.assert_close(cxcywh_to_xyxy(xyxy_to_cxcywh(xyxy)), xyxy)
    iou = box_iou(xyxy, xyxy)
    torch.testing.assert_close(iou.diagonal(), torch.ones(3))
    assert iou[0, 1].item() == pytest.approx(1 / 7)  # overlap 1, union 4 + 4 - 1
    assert iou[0, 2].item() == 0.0
    giou = generalized_box_iou(xyxy, xyxy)
    assert giou[0, 1].item() == pytest.approx(1 / 7 - (9 - 7) / 9)  # hull 3x3
    assert giou[0, 2].item() < 0  # apart boxes: negative, unlike IoU


def test_hungarian_match_finds_the_optimal_assignment():
    gen = torch.Generator().manual_seed(0)
    for queries, targets in [(3, 3), (5, 2), (4, 3)]:
        cost = torch.rand(queries, targets, generator=gen)
        rows, cols = hungarian_match(cost)
        assert cols.tolist() == list(range(targets))
        assert len(set(rows.tolist())) == targets
        best = min(
            sum(cost[q, t] for t, q in enumerate(perm))
            for perm in itertools.permutations(range(queries), targets)
        )
        assert cost[rows, cols].sum().item() == pytest.approx(float(best))
    # the greedy choice (row 0 takes its cheapest column) is not the optimum here
    cost = torch.tensor([[1.0, 2.0], [1.1, 10.0]])
    rows, cols = hungarian_match(cost)
    assert rows.tolist() == [1, 0] and cols.tolist() == [0, 1]
    with pytest.raises(ValueError, match="more targets"):
        hungarian_match(torch.rand(2, 3))


def tiny_detr():
    torch.manual_seed(0)
    block = TransformerConfig(d_model=8, n_heads=2, d_ff=16)
    return DetrLite(
        DetrConfig(
            grid=FeatureGridConfig(image_size=32, channels=(4, 4, 8), d_model=8),
            block=block,
            n_queries=3,
        )
    )


def test_detr_lite_shapes_loss_and_scores():
    model = tiny_detr()
    images = torch.rand(2, 1, 32, 32)
    logits, boxes = model(images)
    assert logits.shape == (2, 3, NO_OBJECT + 1) and boxes.shape == (2, 3, 4)
    assert boxes.min() >= 0 and boxes.max() <= 1
    assert model.cross_attention().shape == (2, 3, 4, 4)
    labels = torch.tensor([[1, 2, -1], [3, 4, 5]])
    true = torch.tensor(
        [
            [[1.0, 1, 9, 12], [12, 3, 20, 15], [0, 0, 0, 0]],
            [[0, 0, 8, 8], [10, 10, 18, 20], [22, 4, 30, 30]],
        ]
    )
    loss = set_loss(model, images, labels, true)
    loss.backward()
    assert loss.item() > 0 and model.queries.grad is not None
    scores = evaluate_detector(model, Canvases(images[:, 0], labels, true, torch.tensor([2, 3])))
    assert 0 <= scores.mean_iou <= 1 and 0 <= scores.class_accuracy <= 1
    with pytest.raises(ValueError, match="d_model"):
        DetrConfig(block=TransformerConfig(d_model=32, n_heads=2, d_ff=8))
