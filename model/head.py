"""SiamFC's head: cross-correlation of exemplar features with search features, scaled, plus a learnt bias.

The correlation of each exemplar with its own search image is one grouped convolution over the batch.
A single exemplar (batch 1) is broadcast over any number of search images, which is how the tracker
scores its scale pyramid. The correlation runs in float32 even under autocast: it sums 6*6*256 products,
enough to overflow float16.

:func:`response_peaks` turns a response map into the peak's offset from the search-crop centre, with the
convention of :mod:`siamfc.pipeline.response_map`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from siamfc.pipeline.response_map import ResponseGrid

OUT_SCALE = 1e-3  # the paper's "adjust" scale: keeps initial logits near 0


def xcorr(zf: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
    """``zf [B or 1, C, h, w]`` correlated with ``xf [B, C, H, W]`` -> ``[B, 1, H - h + 1, W - w + 1]``."""
    if zf.shape[1] != xf.shape[1]:
        raise ValueError(f"exemplar has {zf.shape[1]} channels, search {xf.shape[1]}")
    if zf.shape[0] == 1:
        return F.conv2d(xf, zf)
    if zf.shape[0] != xf.shape[0]:
        raise ValueError(f"{zf.shape[0]} exemplars for {xf.shape[0]} search images (need as many, or 1)")
    b, c, h, w = xf.shape
    out = F.conv2d(xf.reshape(1, b * c, h, w), zf, groups=b)
    return out.reshape(b, 1, out.shape[-2], out.shape[-1])


class XCorrHead(nn.Module):
    """``out_scale * xcorr(zf, xf) + bias`` with a learnt scalar bias (initially 0)."""

    def __init__(self, out_scale: float = OUT_SCALE) -> None:
        super().__init__()
        self.out_scale = out_scale
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, zf: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
        """Exemplar features ``[B or 1, C, h, w]``, search features ``[B, C, H, W]`` -> logits ``[B, 1, R, R]``."""
        with torch.autocast(xf.device.type, enabled=False):
            return xcorr(zf.float(), xf.float()) * self.out_scale + self.bias


def response_peaks(response: torch.Tensor, stride: int, upsample: int = 1) -> torch.Tensor:
    """Peak of each map ``[B, 1, R, R]`` as its ``(dx, dy)`` offset from the search-crop centre, crop pixels ``[B, 2]``.

    With ``upsample > 1`` the map is first enlarged bicubically by that factor (as SiamFC's tracker does),
    which refines the peak to ``stride / upsample`` pixels. Upsampled pixel ``p`` covers response coordinate
    ``(p + 0.5) / upsample - 0.5`` (half-pixel centres, as ``cv2.resize``), so the centre stays the centre.
    ``stride`` is the network's total stride.
    """
    maps = response.detach().float()
    if upsample > 1:
        maps = F.interpolate(maps, scale_factor=upsample, mode="bicubic", align_corners=False)
    b, _, rows, cols = maps.shape
    flat = maps.reshape(b, -1).argmax(dim=1)
    pixel = torch.stack([flat % cols, flat // cols], dim=1).float()  # (column, row)
    return ResponseGrid(response.shape[-1], stride).offset(pixel, upsample)
