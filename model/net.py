"""The SiamFC network: one registered backbone for exemplar and search image, a cross-correlation head.

Inputs are float tensors of raw 0..255 BGR pixels (the crops exactly as stored, converted with
``.float()``). Training calls ``net(z, x)``; the tracker embeds the exemplar once with
``net.backbone(z)`` and scores each frame's scale pyramid with ``net.head(zf, xf)``.
Weights use Xavier (Glorot) uniform initialisation, biases 0, batch norm scale 1 and shift 0.

:attr:`SiamFCNet.architecture` is what a weights file records so that loading builds the same network
(:mod:`.weights`): the backbone's registered name and the head's output scale.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from siamfc.curate.config_checks import is_finite
from siamfc.curate.errors import UserError
from siamfc.curate.geometry import EXEMPLAR_SIZE, SEARCH_SIZE
from siamfc.pipeline.response_map import ResponseGrid

from .backbone import DEFAULT_BACKBONE, backbone_class
from .head import OUT_SCALE, XCorrHead


class SiamFCNet(nn.Module):
    """``forward(z [B, 3, 127, 127], x [B, 3, 255, 255]) -> logits [B, 1, 17, 17]`` (for the AlexNet backbone).

    ``backbone``: a name in :data:`~.backbone.BACKBONES`."""

    def __init__(self, backbone: str = DEFAULT_BACKBONE, out_scale: float = OUT_SCALE) -> None:
        super().__init__()
        self.backbone = backbone_class(backbone)()
        self.head = XCorrHead(out_scale)
        self.architecture: dict[str, Any] = {"backbone": backbone, "out_scale": out_scale}
        init_weights(self)

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any], where: str = "architecture") -> SiamFCNet:
        """The network a weights file's ``architecture`` record describes; ValueError naming ``where`` if unknown."""
        unknown = set(architecture) - {"backbone", "out_scale"}
        if unknown:
            raise UserError(f"{where}: unknown architecture fields {', '.join(sorted(unknown))}")
        scale = architecture.get("out_scale", OUT_SCALE)
        if not is_finite(scale) or scale <= 0:
            raise UserError(f"{where}: architecture out_scale must be a finite number above 0, got {scale!r}")
        try:
            return cls(**architecture)
        except (TypeError, ValueError) as err:
            raise UserError(f"{where}: {err}") from None

    @property
    def total_stride(self) -> int:
        """The backbone's total stride: search-crop pixels between response cells."""
        return self.backbone.total_stride

    def response_grid(self, exemplar_size: int = EXEMPLAR_SIZE, search_size: int = SEARCH_SIZE) -> ResponseGrid:
        """The response map of this network for crops of these sizes (17x17 at stride 8 for AlexNet): its
        backbone's (:meth:`~.backbone.Backbone.response_grid`)."""
        return self.backbone.response_grid(exemplar_size, search_size)

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
