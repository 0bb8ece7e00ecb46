"""Grad-CAM (Selvaraju et al., 2017) and Grad-CAM++ (Chattopadhay et al., 2018) from scratch.

A CAM explains one class score by the feature maps ``A`` (batch, K, h, w) of a chosen
convolutional layer: a weight ``w_k`` per channel, then ``ReLU(sum_k w_k A_k)`` (batch, h, w),
upsampled bilinearly to the input size and scaled to [0, 1] per image.

- Grad-CAM: ``w_k`` = the mean over positions of d score / d A_k;
- Grad-CAM++: ``w_k`` = a positive-gradient sum weighted by second/third-order terms.

The structure follows pytorch-grad-cam: :class:`BaseCAM` does all the work (hooks, forward,
backward, combination, upsampling) and each variant overrides one method, :meth:`weights`.
The hooks that read the layer's activations and gradients live in :class:`LayerRecorder`, a
context manager that always removes them, even when the forward pass fails.
"""

from __future__ import annotations

from types import TracebackType

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.shapes import expect_shape, expect_tensor


class LayerRecorder:
    """``with LayerRecorder(layer) as rec:`` records ``layer``'s output (``rec.activations``,
    detached) and, after ``backward``, the gradient of the loss with respect to it
    (``rec.gradients``). The hook is removed on exit."""

    def __init__(self, layer: nn.Module) -> None:
        if not isinstance(layer, nn.Module):
            raise TypeError(f"layer: expected an nn.Module, got {type(layer).__name__}")
        self.layer = layer
        self.activations: torch.Tensor | None = None
        self.gradients: torch.Tensor | None = None
        self._handle: torch.utils.hooks.RemovableHandle | None = None

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"layer: its output must be a tensor, got {type(output).__name__}")
        self.activations = output.detach()
        if output.requires_grad:

            def keep(grad: torch.Tensor) -> None:
                self.gradients = grad.detach()

            output.register_hook(keep)

    def __enter__(self) -> LayerRecorder:
        self._handle = self.layer.register_forward_hook(self._hook)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    @property
    def active(self) -> bool:
        """Whether the hook is registered (inside the ``with`` block)."""
        return self._handle is not None


def _unit_range(maps: torch.Tensor) -> torch.Tensor:
    """Subtract each map's minimum, divide by its maximum (+1e-7): (batch, h, w) in [0, 1]."""
    maps = maps - maps.flatten(1).min(1).values[:, None, None]  # (batch, h, w), min 0
    return maps / (1e-7 + maps.flatten(1).max(1).values[:, None, None])


def scale_maps(maps: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Scale each map to [0, 1], resize it bilinearly (half-pixel centres, as ``cv2.resize``)
    to ``size`` = (H, W) if given, and scale it to [0, 1] again (so the peak is exactly 1 after
    resizing; scaling first keeps the 1e-7 guard small next to the values, whatever their
    size). (batch, h, w) -> (batch, H, W), the same steps as pytorch-grad-cam."""
    expect_shape(maps, "batch, h, w", name="maps")
    maps = _unit_range(maps)  # (batch, h, w)
    if size is not None and tuple(size) != tuple(maps.shape[1:]):
        maps = F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    return _unit_range(maps)  # (batch, H, W)


def weighted_map(weights: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """``ReLU(sum_k w_k A_k)``: weights (batch, K), activations (batch, K, h, w) -> (batch, h, w)
    (the combination every CAM shares; the variants differ in the weights)."""
    return torch.relu((weights[:, :, None, None] * activations).sum(1))  # (batch, h, w)


def gradcam_map(
    activations: torch.Tensor, gradients: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM at the layer's resolution: activations and gradients (batch, K, h, w) ->
    the channel weights (batch, K), each channel's mean gradient, and the map (batch, h, w)."""
    expect_shape(activations, "batch, K, h, w", name="activations")
    if gradients.shape != activations.shape:
        raise ValueError(
            f"gradients: expected the shape of activations {tuple(activations.shape)}, "
            f"got {tuple(gradients.shape)}"
        )
    weights = gradients.mean(dim=(2, 3))  # (batch, K)
    return weights, weighted_map(weights, activations)


class BaseCAM:
    """Class activation maps from ``target_layer``'s activations and gradients.

    ``cam(images, target=None)``: ``images`` (batch, C, H, W), ``target`` (batch,) class indices
    (default: the predicted classes) -> maps (batch, H, W) in [0, 1]. Subclasses override
    :meth:`weights`; :meth:`raw` gives the map at the layer's resolution before scaling.
    """

    def __init__(self, model: nn.Module, target_layer: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
        if not any(module is target_layer for module in model.modules()):
            raise ValueError("target_layer: expected a module inside model")
        self.model = model
        self.target_layer = target_layer

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """One weight per channel: (batch, K, h, w) twice -> (batch, K). Overridden."""
        raise NotImplementedError

    def record(
        self, images: torch.Tensor, target: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Forward and backward through ``model``: the layer's activations and gradients
        (batch, K, h, w) and the target classes used (batch,)."""
        sizes = expect_shape(images, "batch, C, H, W", name="images")
        self.model.eval()
        x = images.detach().clone().requires_grad_(True)  # gradients must flow to the layer
        with LayerRecorder(self.target_layer) as rec, torch.enable_grad():
            logits = self.model(x)  # (batch, classes)
            if target is None:
                target = logits.argmax(-1)  # (batch,)
            elif expect_tensor(target, "target").shape != (sizes["batch"],):
                raise ValueError(
                    f"target: expected ({sizes['batch']},) class indices, "
                    f"got shape {tuple(target.shape)}"
                )
            score = logits.gather(1, target[:, None].long()).sum()  # scores do not mix
            self.model.zero_grad(set_to_none=True)
            score.backward()
        if rec.activations is None or rec.gradients is None or rec.activations.dim() != 4:
            raise ValueError("target_layer: expected it to output (batch, K, h, w) feature maps")
        return rec.activations, rec.gradients, target

    def raw(self, images: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """``ReLU(sum_k w_k A_k)`` at the layer's resolution: (batch, h, w)."""
        activations, gradients, _ = self.record(images, target)
        return weighted_map(self.weights(activations, gradients), activations)  # (batch, h, w)

    def __call__(self, images: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        maps = self.raw(images, target)  # (batch, h, w)
        return scale_maps(maps, tuple(images.shape[-2:]))  # (batch, H, W) in [0, 1]


class GradCAM(BaseCAM):
    """Grad-CAM: each channel weighted by its mean gradient."""

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradcam_map(activations, gradients)[0]  # (batch, K): mean gradient per channel


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++: ``w_k = sum_ij alpha_ij relu(g_ij)`` with
    ``alpha = g^2 / (2 g^2 + sum_ij(A) g^3)`` (0 where the gradient is 0), the closed form for
    an exponential score."""

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        g2 = gradients**2  # (batch, K, h, w)
        total = activations.sum(dim=(2, 3), keepdim=True)  # (batch, K, 1, 1)
        alpha = g2 / (2 * g2 + total * g2 * gradients + 1e-6)  # (batch, K, h, w)
        alpha = torch.where(gradients != 0, alpha, torch.zeros_like(alpha))
        return (alpha * torch.relu(gradients)).sum(dim=(2, 3))  # (batch, K)


CAMS: dict[str, type[BaseCAM]] = {"Grad-CAM": GradCAM, "Grad-CAM++": GradCAMPlusPlus}
