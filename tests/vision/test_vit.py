"""Tests of course_lib.vision.vit: patchify and the ViT-lite model."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.core.patches import patchify
from course_lib.core.transformer import TransformerConfig
from course_lib.vision.vit import VitConfig, VitLite


@pytest.mark.parametrize(
    ("shape", "patch"),
    [((2, 1, 28, 28), 7), ((3, 3, 8, 12), 4), ((1, 2, 6, 6), 1), ((1, 1, 5, 5), 5)],
)
def test_patchify_equals_unfold(shape, patch):
    images = torch.randn(shape)
    patches = patchify(images, patch)
    n = (shape[2] // patch) * (shape[3] // patch)
    assert patches.shape == (shape[0], n, shape[1] * patch * patch)
    torch.testing.assert_close(patches, F.unfold(images, patch, stride=patch).transpose(1, 2))


def test_patchify_order_is_row_major():
    images = torch.arange(16.0).reshape(1, 1, 4, 4)
    patches = patchify(images, 2)
    assert patches[0, 0].tolist() == [0, 1, 4, 5]  # top-left
    assert patches[0, 1].tolist() == [2, 3, 6, 7]  # top-right comes second
    assert patches[0, 2].tolist() == [8, 9, 12, 13]


def test_patchify_errors():
    with pytest.raises(ValueError, match="H = 10 is not a multiple of patch = 4"):
        patchify(torch.zeros(1, 1, 10, 8), 4)
    with pytest.raises(ValueError, match="patch"):
        patchify(torch.zeros(1, 1, 8, 8), 0)
    with pytest.raises(ValueError, match="images"):
        patchify(torch.zeros(8, 8), 4)


def test_vit_lite_shapes_and_class_attention():
    torch.manual_seed(0)
    config = VitConfig(
        image_size=28, patch=7, depth=2, block=TransformerConfig(d_model=32, n_heads=2, d_ff=64)
    )
    model = VitLite(config)
    with pytest.raises(RuntimeError, match="run the model"):
        model.class_attention()
    logits = model(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 10)
    attention = model.class_attention()
    assert attention.shape == (2, 5, 2, 16)
    assert (attention.sum(-1) < 1 + 1e-5).all()  # the class token also attends to itself
    with pytest.raises(ValueError, match="images"):
        model(torch.rand(5, 1, 32, 32))
    with pytest.raises(ValueError, match="patch"):
        VitConfig(image_size=28, patch=5)
