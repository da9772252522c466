"""The reference to beat: huanglianghua/siamfc-pytorch's ``TrackerSiamFC`` per-frame procedure, restated.

`siamfc bench track` times our tracker beside this, in the same run, on the same frames, network weights and
threads. It does the reference's work the way the reference does it: the network in plain NCHW float32
PyTorch; each search crop made by padding the whole frame with ``cv2.copyMakeBorder`` when the crop leaves it,
slicing and ``cv2.resize`` (bilinear); the channel mean taken once, from the first frame; each response
upsampled with ``cv2.resize`` (bicubic). Its boxes agree with :class:`~siamfc.model.tracker.SiamFCTracker`'s
to within the rounding of the crop corners (tests/test_tracker_backends.py).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn

from siamfc.curate.geometry import EXEMPLAR_SIZE, SEARCH_SIZE, exemplar_side, search_side
from siamfc.model.tracker import choose_scale, hann_window, scale_factors
from siamfc.model.tracker_config import TrackerConfig


def padded_crop(image: np.ndarray, centre: np.ndarray, side: float, out: int, fill: np.ndarray) -> np.ndarray:
    """The reference's crop: a ``round(side)`` square at ``centre`` (row, col), the frame padded as needed."""
    side = round(side)
    corners = np.round(np.concatenate([centre - (side - 1) / 2, centre - (side - 1) / 2 + side])).astype(int)
    pad = max(0, int(np.concatenate([-corners[:2], corners[2:] - image.shape[:2]]).max()))
    if pad > 0:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill.tolist())
    corners += pad
    patch = image[corners[0]:corners[2], corners[1]:corners[3]]
    return cv2.resize(patch, (out, out), interpolation=cv2.INTER_LINEAR)


class ReferenceTracker:
    """``init(image, box)`` / ``update(image)`` with ``x, y, w, h`` 0-based boxes, like our tracker."""

    name = "reference"

    def __init__(self, net: nn.Module, config: TrackerConfig | None = None):
        self.net = net.eval()
        self.config = config or TrackerConfig()
        self.factors = scale_factors(self.config)
        self.upscaled = net.response_grid().upsampled_size(self.config.response_up)
        self.stride = net.total_stride
        self.window = hann_window(self.upscaled)

    def _tensor(self, crops: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()

    @torch.no_grad()
    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        x, y, w, h = (float(v) for v in box)
        self.centre = np.array([y + (h - 1) / 2, x + (w - 1) / 2])  # (row, col)
        self.target = np.array([h, w])
        self.z_side = exemplar_side(w, h, self.config.context)
        self.x_side = search_side(self.z_side)
        self.fill = np.mean(image, axis=(0, 1))
        z = padded_crop(image, self.centre, self.z_side, EXEMPLAR_SIZE, self.fill)
        self.kernel = self.net.backbone(self._tensor([z]))

    @torch.no_grad()
    def update(self, image: np.ndarray) -> np.ndarray:
        c = self.config
        crops = [padded_crop(image, self.centre, self.x_side * f, SEARCH_SIZE, self.fill) for f in self.factors]
        responses = self.net.head(self.kernel, self.net.backbone(self._tensor(crops)))[:, 0].numpy()
        up = np.stack([cv2.resize(r, (self.upscaled, self.upscaled), interpolation=cv2.INTER_CUBIC)
                       for r in responses])
        best = choose_scale(up, c.scale_penalty)
        r = up[best] - up[best].min()
        r /= r.sum() + 1e-16
        r = (1 - c.window_influence) * r + c.window_influence * self.window
        peak = np.array(np.unravel_index(r.argmax(), r.shape), dtype=np.float64)
        shift = (peak - (self.upscaled - 1) / 2) * self.stride / c.response_up
        self.centre = self.centre + shift * self.x_side * self.factors[best] / SEARCH_SIZE
        scale = (1 - c.scale_lr) + c.scale_lr * self.factors[best]
        self.target, self.z_side, self.x_side = self.target * scale, self.z_side * scale, self.x_side * scale
        h, w = self.target
        return np.array([self.centre[1] - (w - 1) / 2, self.centre[0] - (h - 1) / 2, w, h])
