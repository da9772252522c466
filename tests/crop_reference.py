"""An independent SiamFC crop, written from the paper's formulas with plain numpy (no cv2, no siamfc geometry).

Pixel centres at integer coordinates; bilinear sampling; anything outside the frame is the frame's
per-channel mean. Used by tests to check curation and tracker crops pixel-wise.
"""

from __future__ import annotations

import numpy as np


def siamfc_sides(xmin: float, ymin: float, xmax: float, ymax: float) -> tuple[float, float, float, float, float]:
    """(cx, cy, w, h, s_z) of an inclusive VID box with p = (w + h) / 4."""
    w, h = xmax - xmin + 1, ymax - ymin + 1
    p = (w + h) / 4
    return (xmin + xmax) / 2, (ymin + ymax) / 2, w, h, float(np.sqrt((w + 2 * p) * (h + 2 * p)))


def reference_crop(image: np.ndarray, cx: float, cy: float, side: float, out: int) -> np.ndarray:
    """Bilinear crop of ``side`` frame pixels centred on (cx, cy), ``out`` x ``out``, mean padding; float64."""
    img = image.astype(np.float64)
    mean = np.round(img.reshape(-1, img.shape[2]).mean(axis=0))  # a uint8 crop can only pad with whole values
    height, width = img.shape[:2]
    coords = (np.arange(out) - (out - 1) / 2) * side / out
    xs, ys = np.meshgrid(cx + coords, cy + coords)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]

    def pixel(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        inside = (xx >= 0) & (xx < width) & (yy >= 0) & (yy < height)
        values = img[np.clip(yy, 0, height - 1), np.clip(xx, 0, width - 1)]
        return np.where(inside[..., None], values, mean)

    top = pixel(y0, x0) * (1 - fx) + pixel(y0, x0 + 1) * fx
    bottom = pixel(y0 + 1, x0) * (1 - fx) + pixel(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy
