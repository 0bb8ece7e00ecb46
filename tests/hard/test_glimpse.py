"""The glimpse sensor: integer crops with zero padding, the multi-resolution retina, and the
glimpse network."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.core.retina import (
    RetinaConfig,
    extract_patch,
    glimpse_boxes,
    image_pyramid,
    normalized_to_pixel,
    pixel_to_normalized,
    retina,
)
from course_lib.hard.glimpse import GlimpseNetConfig, GlimpseNetwork


def images(n=3, size=60, seed=0):
    return torch.rand(n, size, size, generator=torch.Generator().manual_seed(seed))


def test_extract_patch_inside_equals_slicing():
    x = images()
    corners = torch.tensor([[0, 0], [10, 20], [48, 48]])  # (x, y)
    out = extract_patch(x, corners, 12)
    for i, (cx, cy) in enumerate(corners.tolist()):
        torch.testing.assert_close(out[i], x[i, cy : cy + 12, cx : cx + 12])


def test_extract_patch_pads_with_zeros_outside():
    x = torch.ones(2, 10, 10)
    out = extract_patch(x, torch.tensor([[-3, -2], [8, 100]]), 5)  # (2, 5, 5)
    expected = torch.zeros(5, 5)
    expected[2:, 3:] = 1
    torch.testing.assert_close(out[0], expected)
    assert out[1].sum() == 0  # entirely below the image


def test_extract_patch_errors():
    with pytest.raises(TypeError, match="corners"):
        extract_patch(images(), torch.zeros(3, 2), 4)
    with pytest.raises(ValueError, match="batch sizes"):
        extract_patch(images(), torch.zeros(2, 2, dtype=torch.int64), 4)
    with pytest.raises(ValueError, match="side"):
        extract_patch(images(), torch.zeros(3, 2, dtype=torch.int64), 0)
    with pytest.raises(ValueError, match="images"):
        extract_patch(torch.zeros(3, 1, 8, 8), torch.zeros(3, 2, dtype=torch.int64), 2)


def test_coordinates_round_trip():
    px = torch.tensor([[0.0, 60.0], [30.0, 15.0]])
    torch.testing.assert_close(pixel_to_normalized(px, 60), torch.tensor([[-1.0, 1.0], [0, -0.5]]))
    torch.testing.assert_close(normalized_to_pixel(pixel_to_normalized(px, 60), 60), px)


def test_retina_equals_crop_and_average_when_aligned():
    # centres on multiples of 4 px: every scale's square starts on its block grid
    x, config = images(4), RetinaConfig(patch=12, scales=3, ratio=2)
    centres = torch.tensor([[0, 0], [28, 32], [60, 8], [-8, 44]])  # pixel (x, y), some outside
    glimpse = retina(x, pixel_to_normalized(centres.float(), 60), config)
    assert glimpse.shape == (4, 3, 12, 12)
    for k in range(3):
        side = config.side(k)
        crop = extract_patch(x, centres - side // 2, side)  # (4, side, side)
        torch.testing.assert_close(glimpse[:, k], F.avg_pool2d(crop[:, None], 2**k)[:, 0])


def test_retina_at_the_centre_sees_the_middle_sharp_and_the_whole_coarse():
    x = torch.zeros(1, 1, 48, 48)
    x[..., 20:28, 20:28] = 1.0  # an 8x8 square in the middle
    g = retina(x, torch.zeros(1, 2), RetinaConfig(patch=12, scales=3))
    assert g[0, 0].sum() == pytest.approx(64)  # all of it at full resolution
    assert g[0, 2].sum() == pytest.approx(64 / 16)  # averaged over 4x4 blocks
    # the pyramid can be computed once and passed in
    torch.testing.assert_close(retina(x, torch.zeros(1, 2), pyramid=image_pyramid(x)), g)


def test_retina_errors_name_the_argument():
    with pytest.raises(ValueError, match="locations"):
        retina(images(), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="batch sizes"):
        retina(images(), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="square"):
        retina(torch.zeros(2, 60, 50), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="divisible"):
        image_pyramid(torch.zeros(1, 30, 30), RetinaConfig(scales=3))
    with pytest.raises(ValueError, match="patch"):
        RetinaConfig(patch=0)


def test_glimpse_boxes():
    boxes = glimpse_boxes(torch.tensor([[0.0, 0.0]]), 60, RetinaConfig())  # (1, 3, 4)
    torch.testing.assert_close(boxes[0, 0], torch.tensor([24.0, 24.0, 36.0, 36.0]))
    torch.testing.assert_close(boxes[0, 2], torch.tensor([6.0, 6.0, 54.0, 54.0]))


def test_glimpse_network_shape_and_uses_where():
    torch.manual_seed(0)
    net = GlimpseNetwork(GlimpseNetConfig(what=16, where=8, out=24))
    x = torch.zeros(2, 1, 60, 60)  # a black image: only the location differs
    out = net(x, torch.tensor([[0.5, -0.5], [-0.5, 0.5]]))
    assert out.shape == (2, 24) and (out >= 0).all()
    assert not torch.allclose(out[0], out[1])
