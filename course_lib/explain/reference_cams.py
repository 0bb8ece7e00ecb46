"""pytorch-grad-cam, the reference that :mod:`course_lib.explain.gradcam` is checked against: a
test extra (``make install-dev``, which ``make test`` runs); ``make lab`` does not install it and
the lesson runs without it.

pytorch-grad-cam imports ``torchvision.transforms`` (and ``torchvision.ops``) at import time for
image helpers the course never calls. Where the installed torchvision cannot load its compiled
operators against the CPU build of torch (this package index offers only a CUDA build of
torchvision 0.28.0, whose ``_C.so`` needs ``libtorch_cuda.so``), ``import torchvision`` fails
with "operator torchvision::nms does not exist". Then, and only then, a stand-in module that
raises on use is put in its place, so the CAM code under test (which uses numpy, torch and cv2)
runs unchanged. Where torchvision imports, it is used as is.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import torch
from torch import nn


def _unavailable(*args: object, **kwargs: object) -> None:
    raise RuntimeError("torchvision could not load on this machine; this helper is a stand-in")


def _stand_in_torchvision() -> None:
    modules = {
        name: types.ModuleType(name)
        for name in (
            "torchvision",
            "torchvision.transforms",
            "torchvision.transforms.functional",
            "torchvision.ops",
        )
    }
    for name in ("Compose", "Normalize", "ToTensor", "Resize"):
        setattr(modules["torchvision.transforms"], name, _unavailable)
    modules["torchvision.transforms.functional"].resize = _unavailable
    modules["torchvision.transforms"].functional = modules["torchvision.transforms.functional"]
    modules["torchvision.ops"].box_iou = _unavailable
    modules["torchvision"].transforms = modules["torchvision.transforms"]
    modules["torchvision"].ops = modules["torchvision.ops"]
    sys.modules.update(modules)


def import_grad_cam() -> types.ModuleType:
    """``pytorch_grad_cam``, importable whether or not torchvision's operators load; an
    ``ImportError`` that says how to install it where it is not installed."""
    if importlib.util.find_spec("pytorch_grad_cam") is None:
        raise ImportError("pytorch-grad-cam is a test extra: `make install-dev` installs it")
    try:
        import torchvision  # noqa: F401
    except ImportError:  # not installed at all: the stand-in serves as well
        _stand_in_torchvision()
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        _stand_in_torchvision()
    import pytorch_grad_cam

    return pytorch_grad_cam


def library_cam(
    variant: str, model: nn.Module, layer: nn.Module, images: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """pytorch-grad-cam's ``variant`` (e.g. ``"GradCAM"``, ``"GradCAMPlusPlus"``) maps of
    ``model`` at ``layer`` for classes ``target`` (batch,): images (batch, C, H, W) ->
    (batch, H, W). Raises ``ImportError`` when the package is not installed."""
    library = import_grad_cam()
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    if not hasattr(library, variant):
        raise ValueError(f"variant: pytorch-grad-cam has no {variant!r}")
    with getattr(library, variant)(model=model, target_layers=[layer]) as cam:
        maps = cam(images, targets=[ClassifierOutputTarget(int(c)) for c in target])
    return torch.from_numpy(maps)  # (batch, H, W)
