"""ViT-lite (Dosovitskiy et al., 2021) for small grey images: cut the image into patches
(:func:`~course_lib.core.patches.patchify`), embed each patch as a token, prepend a learned
class token, add learned positions, run transformer blocks (:mod:`course_lib.core.transformer`),
classify from the class token.

Shapes: images (batch, C, H, W); patches (batch, N, C * p * p) with N = (H / p) * (W / p),
row-major; tokens (batch, 1 + N, d_model); class-token attention (batch, heads, N).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.core.patches import patchify
from course_lib.core.shapes import expect_positive_int, expect_shape
from course_lib.core.transformer import TransformerBlock, TransformerConfig


@dataclass(frozen=True)
class VitConfig:
    """``image_size`` / ``patch`` patches per side, ``depth`` blocks of ``block``."""

    image_size: int = 28
    channels: int = 1
    patch: int = 4
    depth: int = 4
    classes: int = 10
    block: TransformerConfig = TransformerConfig(d_model=64, n_heads=4, d_ff=128)

    def __post_init__(self) -> None:
        for name in ("image_size", "channels", "patch", "depth", "classes"):
            expect_positive_int(getattr(self, name), name)
        if self.image_size % self.patch:
            raise ValueError(f"patch: must divide image_size = {self.image_size}, got {self.patch}")

    @property
    def n_patches(self) -> int:
        return (self.image_size // self.patch) ** 2


class VitLite(nn.Module):
    """(batch, C, S, S) -> logits (batch, classes). After a forward pass,
    :meth:`class_attention` gives each block's class-token attention over the patches."""

    def __init__(self, config: VitConfig = VitConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.block.d_model
        self.embed = nn.Linear(config.channels * config.patch**2, d)  # one patch -> one token
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(0.02 * torch.randn(1, 1 + config.n_patches, d))
        self.blocks = nn.ModuleList(TransformerBlock(config.block) for _ in range(config.depth))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, config.classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(images, "batch, C, H, W", name="images")
        c = self.config
        if (sizes["C"], sizes["H"], sizes["W"]) != (c.channels, c.image_size, c.image_size):
            raise ValueError(
                f"images: expected (batch, {c.channels}, {c.image_size}, "
                f"{c.image_size}), got shape {tuple(images.shape)}"
            )
        tokens = self.embed(patchify(images, c.patch))  # (batch, N, d)
        cls = self.cls.expand(sizes["batch"], -1, -1)  # (batch, 1, d)
        x = torch.cat([cls, tokens], dim=1) + self.pos  # (batch, 1 + N, d)
        for block in self.blocks:
            x = block(x)  # (batch, 1 + N, d)
        return self.head(self.norm(x[:, 0]))  # (batch, classes) from the class token

    def class_attention(self) -> torch.Tensor:
        """Class token -> patch attention of the last forward pass: (depth, batch, heads, N)."""
        weights = [block.self_attn.last_weights for block in self.blocks]
        if any(w is None for w in weights):
            raise RuntimeError("class_attention: run the model on a batch first")
        return torch.stack([w[:, :, 0, 1:] for w in weights])  # (depth, batch, heads, N)
