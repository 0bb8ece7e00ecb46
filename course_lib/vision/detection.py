"""DETR-lite (Carion et al., 2020): localise digits with learned queries.

A CNN turns the canvas into a grid of features; one transformer encoder block lets the cells
exchange information; a few **learned queries** then attend to the grid through transformer
decoder blocks (:mod:`course_lib.core.transformer`), and each query predicts a class (a digit or
"no object") and a box. There is no anchor and no non-maximum suppression: during training
the predictions are matched one-to-one with the true digits by the Hungarian algorithm
(:func:`hungarian_match`), and unmatched queries learn to say "no object".

Boxes: ``xyxy`` = (x0, y0, x1, y1) in pixels (as in :class:`course_lib.data.digits.Canvases`);
the model predicts ``cxcywh`` = (centre x, centre y, width, height) divided by the image size.
Shapes: logits (batch, queries, 11), boxes (batch, queries, 4), cross-attention
(batch, queries, G, G).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import nn

from course_lib.core.shapes import expect_positive_int, expect_shape
from course_lib.core.transformer import TransformerBlock, TransformerConfig
from course_lib.data.canvases import Canvases
from course_lib.vision.convnets import FeatureGrid, FeatureGridConfig, grid_to_tokens

NO_OBJECT = 10  # class index of "no digit here"


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) centre/size -> corners."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) corners -> centre/size."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) xyxy -> (...,)."""
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(
        min=0
    )


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of xyxy boxes ``a`` (n, 4) and ``b`` (m, 4) -> (n, m)."""
    expect_shape(a, "n, 4", name="a")
    expect_shape(b, "m, 4", name="b")
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])  # (n, m, 2)
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # (n, m, 2)
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)  # (n, m)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter  # (n, m)
    return inter / union.clamp(min=1e-9)


def generalized_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise generalised IoU (Rezatofighi et al., 2019) of xyxy boxes -> (n, m) in [-1, 1]:
    IoU minus the fraction of the enclosing box that neither box covers."""
    iou = box_iou(a, b)  # (n, m)
    top_left = torch.minimum(a[:, None, :2], b[None, :, :2])  # (n, m, 2)
    bottom_right = torch.maximum(a[:, None, 2:], b[None, :, 2:])  # (n, m, 2)
    hull = (bottom_right - top_left).clamp(min=0).prod(-1)  # (n, m)
    top_left_i = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right_i = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right_i - top_left_i).clamp(min=0).prod(-1)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return iou - (hull - union) / hull.clamp(min=1e-9)


def hungarian_match(cost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The one-to-one assignment of rows (predictions) to columns (targets) with the least
    total cost (``scipy.optimize.linear_sum_assignment``). ``cost`` (queries, targets) with
    queries >= targets -> (query indices, target indices), each (targets,), sorted by target."""
    sizes = expect_shape(cost, "queries, targets", name="cost")
    if sizes["targets"] > sizes["queries"]:
        raise ValueError(
            f"cost: more targets ({sizes['targets']}) than queries "
            f"({sizes['queries']}); every target needs its own query"
        )
    rows, cols = linear_sum_assignment(cost.detach().cpu().double().numpy())
    order = cols.argsort()
    return torch.as_tensor(rows[order], dtype=torch.long), torch.as_tensor(
        cols[order], dtype=torch.long
    )


@dataclass(frozen=True)
class DetrConfig:
    """Backbone ``grid``, ``n_queries`` learned queries, ``encoder_depth`` encoder and
    ``decoder_depth`` decoder blocks of ``block``; loss weights as in DETR."""

    grid: FeatureGridConfig = FeatureGridConfig()
    block: TransformerConfig = TransformerConfig(d_model=64, n_heads=4, d_ff=128)
    n_queries: int = 4
    encoder_depth: int = 1
    decoder_depth: int = 2
    weight_class: float = 1.0
    weight_l1: float = 5.0
    weight_giou: float = 2.0
    weight_no_object: float = 0.2

    def __post_init__(self) -> None:
        if self.grid.d_model != self.block.d_model:
            raise ValueError(
                f"block: d_model must equal grid.d_model = {self.grid.d_model}, "
                f"got {self.block.d_model}"
            )
        for name in ("n_queries", "decoder_depth"):
            expect_positive_int(getattr(self, name), name)


class DetrLite(nn.Module):
    """Canvas (batch, 1, S, S) -> class logits (batch, Q, 11), boxes (batch, Q, 4) cxcywh in
    [0, 1]. After a forward pass, :meth:`cross_attention` gives each query's attention over
    the grid in the last decoder block."""

    def __init__(self, config: DetrConfig = DetrConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.block.d_model
        self.backbone = FeatureGrid(config.grid)
        self.encoder = nn.ModuleList(
            TransformerBlock(config.block) for _ in range(config.encoder_depth)
        )
        self.decoder = nn.ModuleList(
            TransformerBlock(config.block, cross=True) for _ in range(config.decoder_depth)
        )
        self.queries = nn.Parameter(torch.randn(1, config.n_queries, d))  # query positions
        self.norm = nn.LayerNorm(d)
        self.class_head = nn.Linear(d, NO_OBJECT + 1)
        self.box_head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 4))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        grid = self.backbone(images)  # (batch, d, G, G)
        memory = grid_to_tokens(grid)  # (batch, G*G, d)
        pos = grid_to_tokens(self.backbone.pos[None])  # (1, G*G, d)
        for block in self.encoder:
            memory = block(memory, x_pos=pos)  # (batch, G*G, d)
        x = torch.zeros(len(images), self.config.n_queries, memory.shape[-1])  # (batch, Q, d)
        for block in self.decoder:
            x = block(x, memory, x_pos=self.queries, memory_pos=pos)  # (batch, Q, d)
        x = self.norm(x)
        return self.class_head(x), self.box_head(x).sigmoid()  # (b, Q, 11), (b, Q, 4)

    def cross_attention(self) -> torch.Tensor:
        """Last decoder block's cross-attention, averaged over heads: (batch, Q, G, G)."""
        weights = self.decoder[-1].cross_attn.last_weights  # (batch, heads, Q, G*G)
        if weights is None:
            raise RuntimeError("cross_attention: run the model on a batch first")
        g = self.config.grid.grid
        return weights.mean(1).reshape(weights.shape[0], weights.shape[2], g, g)


def match_predictions(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    labels: torch.Tensor,
    true_boxes: torch.Tensor,
    config: DetrConfig,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Hungarian matching per image. ``logits`` (b, Q, 11), ``boxes`` (b, Q, 4) cxcywh in
    [0, 1]; ``labels`` (b, k) padded with -1, ``true_boxes`` (b, k, 4) cxcywh in [0, 1].
    Cost = -weight_class p(class) + weight_l1 L1 - weight_giou GIoU. Returns, per image,
    (query indices, target indices)."""
    probs = logits.softmax(-1)  # (b, Q, 11)
    matches = []
    with torch.no_grad():
        for i in range(len(labels)):
            real = labels[i] >= 0  # (k,)
            target_labels, target_boxes = labels[i][real], true_boxes[i][real]  # (t,), (t, 4)
            cost = (
                -config.weight_class * probs[i][:, target_labels]  # (Q, t)
                + config.weight_l1 * torch.cdist(boxes[i], target_boxes, p=1)
                - config.weight_giou
                * generalized_box_iou(cxcywh_to_xyxy(boxes[i]), cxcywh_to_xyxy(target_boxes))
            )
            matches.append(hungarian_match(cost))
    return matches


def set_loss(
    model: DetrLite, images: torch.Tensor, labels: torch.Tensor, boxes_xyxy: torch.Tensor
) -> torch.Tensor:
    """DETR's loss: match, then cross-entropy on every query (unmatched ones -> NO_OBJECT,
    down-weighted) + L1 and GIoU on the matched boxes. ``boxes_xyxy`` (b, k, 4) pixels."""
    config = model.config
    size = images.shape[-1]
    true_boxes = xyxy_to_cxcywh(boxes_xyxy) / size  # (b, k, 4) in [0, 1]
    logits, boxes = model(images)  # (b, Q, 11), (b, Q, 4)
    matches = match_predictions(logits, boxes, labels, true_boxes, config)
    target_classes = torch.full(logits.shape[:2], NO_OBJECT, dtype=torch.long)  # (b, Q)
    batch_idx = torch.cat([torch.full_like(q, i) for i, (q, _) in enumerate(matches)])
    query_idx = torch.cat([q for q, _ in matches])  # (matched,)
    target_idx = torch.cat([t for _, t in matches])  # (matched,)
    target_classes[batch_idx, query_idx] = labels[batch_idx, target_idx]
    class_weights = torch.ones(NO_OBJECT + 1)
    class_weights[NO_OBJECT] = config.weight_no_object
    loss_class = F.cross_entropy(
        logits.reshape(-1, NO_OBJECT + 1), target_classes.reshape(-1), weight=class_weights
    )
    pred = boxes[batch_idx, query_idx]  # (matched, 4)
    true = true_boxes[batch_idx, target_idx]  # (matched, 4)
    loss_l1 = F.l1_loss(pred, true, reduction="none").sum(-1).mean()
    giou = generalized_box_iou(cxcywh_to_xyxy(pred), cxcywh_to_xyxy(true)).diagonal()
    loss_giou = (1 - giou).mean()
    return (
        config.weight_class * loss_class
        + config.weight_l1 * loss_l1
        + config.weight_giou * loss_giou
    )


@dataclass(frozen=True)
class DetectionScores:
    """Test metrics: mean IoU of each true digit with its matched query's box, fraction of true
    digits whose matched query has the right class, fraction of images whose predicted digit
    count (queries not saying "no object") is right."""

    mean_iou: float
    class_accuracy: float
    count_accuracy: float


@torch.no_grad()
def evaluate_detector(model: DetrLite, canvases: Canvases, batch_size: int = 250):
    """Match each image's predictions to its digits (as in training) and score them."""
    model.eval()
    ious, right, counts_right = [], 0, 0
    size = canvases.images.shape[-1]
    for start in range(0, len(canvases), batch_size):
        part = canvases[start : start + batch_size]
        logits, boxes = model(part.images[:, None])  # (b, Q, 11), (b, Q, 4)
        true_boxes = xyxy_to_cxcywh(part.boxes) / size  # (b, k, 4)
        for i, (q, t) in enumerate(
            match_predictions(logits, boxes, part.labels, true_boxes, model.config)
        ):
            pred_xyxy = cxcywh_to_xyxy(boxes[i, q]) * size  # (t, 4) pixels
            ious.append(box_iou(pred_xyxy, part.boxes[i, t]).diagonal())
            right += int((logits[i, q].argmax(-1) == part.labels[i, t]).sum())
            found = int((logits[i].argmax(-1) != NO_OBJECT).sum())
            counts_right += int(found == int(part.counts[i]))
    all_ious = torch.cat(ious)
    return DetectionScores(
        all_ious.mean().item(), right / len(all_ious), counts_right / len(canvases)
    )
