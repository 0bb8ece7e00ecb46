"""Grad-CAM and Grad-CAM++ from scratch, checked against pytorch-grad-cam; hooks released."""

import pytest
import torch
from torch import nn

from course_lib.explain.gradcam import BaseCAM, GradCAM, GradCAMPlusPlus, LayerRecorder, scale_maps
from course_lib.explain.reference_cams import library_cam
from course_lib.vision.convnets import ConvNet, ConvNetConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def convnet(seed: int = 0) -> ConvNet:
    torch.manual_seed(seed)
    return ConvNet(ConvNetConfig(channels=(6, 12), hidden=16)).eval()


def hooks(module: nn.Module) -> int:
    return len(module._forward_hooks)


def test_recorder_keeps_activations_and_gradients_and_removes_its_hook():
    model = convnet()
    layer = model.features[4]
    x = torch.rand(2, 1, 28, 28)
    with LayerRecorder(layer) as rec:
        assert rec.active and hooks(layer) == 1
        model(x.requires_grad_()).sum().backward()
    assert not rec.active and hooks(layer) == 0
    assert rec.activations.shape == rec.gradients.shape == (2, 12, 14, 14)


def test_recorder_removes_its_hook_when_the_forward_pass_fails():
    model = convnet()
    layer = model.features[4]
    with pytest.raises(ValueError, match="x: expected 4 dims"), LayerRecorder(layer):
        model(torch.rand(28, 28))
    assert hooks(layer) == 0


def test_gradcam_weights_are_mean_gradients_and_the_map_is_scaled():
    model = convnet()
    cam = GradCAM(model, model.features[4])
    x = torch.rand(3, 1, 28, 28)
    activations, gradients, target = cam.record(x)
    assert torch.equal(target, model(x).argmax(-1))
    w = cam.weights(activations, gradients)
    assert torch.allclose(w, gradients.mean((2, 3)))
    maps = cam(x)
    assert maps.shape == (3, 28, 28) and hooks(model.features[4]) == 0
    assert maps.min() >= 0 and torch.allclose(maps.amax((1, 2)), torch.ones(3), atol=1e-5)


def test_each_variant_overrides_only_weights():
    assert "weights" in GradCAM.__dict__ and "weights" in GradCAMPlusPlus.__dict__
    for variant in (GradCAM, GradCAMPlusPlus):
        assert set(variant.__dict__) - {"__module__", "__doc__", "__qualname__"} == {"weights"}
    with pytest.raises(NotImplementedError):
        (model := convnet()) and BaseCAM(model, model.features[4]).weights(
            torch.ones(1, 1, 1, 1), torch.ones(1, 1, 1, 1)
        )


def test_scale_maps_resizes_like_half_pixel_bilinear():
    maps = torch.tensor([[[0.0, 2.0], [4.0, 8.0]]])
    scaled = scale_maps(maps, (4, 4))
    assert scaled.shape == (1, 4, 4)
    assert scaled[0, 0, 0] == 0 and scaled[0, -1, -1] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("ours", "theirs"), [(GradCAM, "GradCAM"), (GradCAMPlusPlus, "GradCAMPlusPlus")]
)
@pytest.mark.parametrize("layer_index", [3, 4])
def test_cams_equal_pytorch_grad_cam(ours, theirs, layer_index):
    model = convnet(seed=1)
    layer = model.features[layer_index]
    x = torch.rand(4, 1, 40, 40)
    target = torch.tensor([3, 1, 7, 3])
    mine = ours(model, layer)(x, target)
    reference = library_cam(theirs, model, layer, x, target)
    assert reference.shape == (4, 40, 40)
    assert (mine - reference).abs().max() <= 1e-5
    assert hooks(layer) == 0
    with pytest.raises(ValueError, match="variant: pytorch-grad-cam has no"):
        library_cam("NoSuchCAM", model, layer, x, target)


def test_bad_inputs_name_the_argument():
    model = convnet()
    with pytest.raises(ValueError, match="target_layer: expected a module inside model"):
        GradCAM(model, nn.ReLU())
    with pytest.raises(ValueError, match="target_layer: expected it to output"):
        GradCAM(model, model.head[1])(torch.rand(1, 1, 28, 28))
    with pytest.raises(ValueError, match=r"target: expected \(2,\)"):
        GradCAM(model, model.features[4])(torch.rand(2, 1, 28, 28), torch.tensor([1]))


def test_a_missing_reference_library_says_how_to_install_it(monkeypatch):
    from course_lib.explain import reference_cams

    real = reference_cams.importlib.util.find_spec
    monkeypatch.setattr(
        reference_cams.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pytorch_grad_cam" else real(name, *a),
    )
    with pytest.raises(ImportError, match="make install-dev"):
        reference_cams.import_grad_cam()
