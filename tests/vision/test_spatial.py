"""Tests of course_lib.vision.spatial: the from-scratch grid and sampler equal torch's; the STN."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.data.digits import transform_theta
from course_lib.vision.spatial import (
    LocalizerConfig,
    SpatialTransformer,
    affine_grid,
    bilinear_sample,
    control_points,
    normalized_coords,
    tps_grid,
    tps_map,
)

SIZES = [(2, 3, 5, 7), (1, 1, 1, 4), (3, 2, 6, 1), (1, 1, 28, 28)]


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_affine_grid_equals_torch(size, align_corners):
    theta = torch.randn(
        size[0], 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    ours = affine_grid(theta, size, align_corners)
    with pytest.warns(UserWarning) if align_corners and 1 in size[2:] else _no_warning():
        theirs = F.affine_grid(theta, size, align_corners=align_corners)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_gradient_equals_torch(align_corners):
    theta = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(2, 4, 6, 2, dtype=torch.float64)
    (g_ours,) = torch.autograd.grad(
        (affine_grid(theta, (2, 1, 4, 6), align_corners) * upstream).sum(), theta
    )
    (g_torch,) = torch.autograd.grad(
        (F.affine_grid(theta, (2, 1, 4, 6), align_corners=align_corners) * upstream).sum(), theta
    )
    torch.testing.assert_close(g_ours, g_torch)


def test_identity_grid_hits_pixel_centres():
    grid = affine_grid(torch.eye(2, 3)[None], (1, 1, 2, 4), align_corners=False)  # (1, 2, 4, 2)
    torch.testing.assert_close(grid[0, 0, :, 0], torch.tensor([-0.75, -0.25, 0.25, 0.75]))
    torch.testing.assert_close(grid[0, :, 0, 1], torch.tensor([-0.5, 0.5]))
    assert normalized_coords(3, True).tolist() == [-1.0, 0.0, 1.0]


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize(
    ("image_size", "grid_size"),
    [((2, 3, 5, 7), (4, 6)), ((1, 1, 1, 3), (2, 2)), ((3, 2, 8, 8), (8, 8))],
)
def test_bilinear_sample_equals_grid_sample_with_gradients(image_size, grid_size, align_corners):
    gen = torch.Generator().manual_seed(1)
    image = torch.randn(*image_size, dtype=torch.float64, generator=gen).requires_grad_()
    # points inside, near and outside the border (zeros padding must agree)
    grid = (
        1.4 * torch.randn(image_size[0], *grid_size, 2, dtype=torch.float64, generator=gen)
    ).requires_grad_()
    ours = bilinear_sample(image, grid, align_corners)
    theirs = F.grid_sample(
        image, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners
    )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    upstream = torch.randn(ours.shape, dtype=torch.float64, generator=gen)
    grads_ours = torch.autograd.grad((ours * upstream).sum(), (image, grid))
    grads_torch = torch.autograd.grad((theirs * upstream).sum(), (image, grid))
    for g_ours, g_torch in zip(grads_ours, grads_torch, strict=True):
        torch.testing.assert_close(g_ours, g_torch, rtol=1e-9, atol=1e-10)


def test_sampling_the_identity_grid_returns_the_image():
    image = torch.rand(2, 3, 9, 11)
    for align_corners in (False, True):
        grid = affine_grid(torch.eye(2, 3).expand(2, 2, 3), (2, 3, 9, 11), align_corners)
        torch.testing.assert_close(bilinear_sample(image, grid, align_corners), image)


def test_transform_theta_rotates_a_quarter_turn():
    image = torch.zeros(1, 1, 5, 5)
    image[0, 0, 0, 2] = 1.0  # a dot above the centre
    theta = transform_theta(torch.tensor([math.pi / 2]))  # (1, 2, 3)
    out = bilinear_sample(image, affine_grid(theta, (1, 1, 5, 5)))
    # p_out = R(angle) p_in: the dot at (x, y) = (0, -0.8) moves to (0.8, 0), the right edge
    # (y points down in images, so a positive angle turns clockwise on screen)
    assert divmod(int(out.flatten().argmax()), 5) == (2, 4) and out.max() > 0.99


def test_transform_theta_scale_and_shift():
    theta = transform_theta(
        torch.tensor([0.0, 0.0]), scale=torch.tensor([2.0, 0.5]), shift_x=0.5, shift_y=-0.25
    )
    # output point p_out = shift + scale * p_in  ->  p_in = (p_out - shift) / scale
    p_out = torch.tensor([0.5, -0.25, 1.0])
    torch.testing.assert_close(theta @ p_out, torch.zeros(2, 2))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="theta"):
        affine_grid(torch.zeros(2, 3, 3), (2, 1, 4, 4))
    with pytest.raises(ValueError, match="size"):
        affine_grid(torch.zeros(2, 2, 3), (2, 1, 4))
    with pytest.raises(ValueError, match="batch"):
        affine_grid(torch.zeros(2, 2, 3), (3, 1, 4, 4))
    with pytest.raises(ValueError, match="grid"):
        bilinear_sample(torch.zeros(1, 1, 4, 4), torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="batch"):
        bilinear_sample(torch.zeros(2, 1, 4, 4), torch.zeros(1, 4, 4, 2))
    with pytest.raises(TypeError, match="image"):
        bilinear_sample([[0.0]], torch.zeros(1, 4, 4, 2))


def test_spatial_transformer_starts_as_identity_and_uses_either_sampler():
    torch.manual_seed(0)
    stn = SpatialTransformer(LocalizerConfig(in_size=28, out_size=28))
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(stn(x), x, atol=1e-5, rtol=0)
    assert stn.last_theta.shape == (3, 2, 3)
    scratch = SpatialTransformer(LocalizerConfig(in_size=40, out_size=28), from_scratch=True)
    builtin = SpatialTransformer(LocalizerConfig(in_size=40, out_size=28))
    builtin.load_state_dict(scratch.state_dict())
    with torch.no_grad():
        scratch.head[-1].bias.add_(0.1 * torch.randn(6))
        builtin.head[-1].bias.copy_(scratch.head[-1].bias)
    y = torch.rand(2, 1, 40, 40)
    assert scratch(y).shape == (2, 1, 28, 28)
    torch.testing.assert_close(scratch(y), builtin(y), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="in_size"):
        builtin(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="hidden"):
        LocalizerConfig(hidden=0)


def test_thin_plate_spline_interpolates_the_control_points_and_starts_as_identity():
    control = control_points(3)  # (9, 2)
    assert control[1].tolist() == [0.0, -1.0] and control[3].tolist() == [-1.0, 0.0]
    gen = torch.Generator().manual_seed(0)
    moved = (control + 0.2 * torch.randn(2, 9, 2, generator=gen)).double().requires_grad_()
    torch.testing.assert_close(tps_map(control, moved, control), moved)  # exact at the points
    # an affine motion of the points gives exactly that affine map everywhere
    theta = torch.tensor([[1.1, 0.2, 0.1], [-0.3, 0.9, -0.2]], dtype=torch.float64)
    shifted = torch.cat([control.double(), torch.ones(9, 1, dtype=torch.float64)], 1) @ theta.T
    grid = tps_grid(control, shifted[None], (1, 1, 5, 6))
    torch.testing.assert_close(grid, affine_grid(theta[None], (1, 1, 5, 6)))
    tps_grid(control, moved, (2, 1, 4, 4)).sum().backward()
    assert moved.grad is not None and moved.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="control and moved"):
        tps_map(control, moved[:, :4], control)


def test_tps_spatial_transformer_starts_as_identity():
    torch.manual_seed(0)
    stn = SpatialTransformer(LocalizerConfig(transform="tps", control=4))
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(stn(x), x, atol=1e-5, rtol=0)
    assert stn.last_theta.shape == (2, 16, 2) and stn.last_grid.shape == (2, 28, 28, 2)
    with pytest.raises(ValueError, match="transform"):
        LocalizerConfig(transform="projective")
