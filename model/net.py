"""The SiamFC network: one AlexNet embedding for exemplar and search image, a cross-correlation head.

Inputs are float tensors of raw 0..255 BGR pixels (the crops exactly as stored, converted with
``.float()``). Training calls ``net(z, x)``; the tracker embeds the exemplar once with
``net.backbone(z)`` and scores each frame's scale pyramid with ``net.head(zf, xf)``.
Weights use Xavier (Glorot) uniform initialisation, biases 0, batch norm scale 1 and shift 0.
"""

from __future__ import annotations

import torch
from torch import nn

from .backbone import AlexNetBackbone
from .head import OUT_SCALE, XCorrHead


class SiamFCNet(nn.Module):
    """``forward(z [B, 3, 127, 127], x [B, 3, 255, 255]) -> logits [B, 1, 17, 17]``."""

    def __init__(self, out_scale: float = OUT_SCALE) -> None:
        super().__init__()
        self.backbone = AlexNetBackbone()
        self.head = XCorrHead(out_scale)
        init_weights(self)

    def embed(self, img: torch.Tensor) -> torch.Tensor:
        """Embedding of a batch of crops ``[B, 3, H, W]`` (raw 0..255 BGR floats)."""
        return self.backbone(img)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(z), self.backbone(x))


def init_weights(module: nn.Module) -> None:
    """Xavier-uniform convolutions with zero bias; batch norms at identity."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight, gain=1.0)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
