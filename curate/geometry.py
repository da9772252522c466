"""SiamFC crop geometry: box -> context square -> resampled crop. The one home of these rules.

Curation, the pair sampler and the tracker all call this module, so they cannot disagree.
Boxes are ``cxcywh`` in the pixel convention of :mod:`siamfc.curate.boxes` (pixel centres at
integer coordinates).

A crop of side ``s`` (frame pixels) centred on ``(cx, cy)`` and resampled to ``n x n`` maps crop
pixel ``u`` to frame coordinate ``x = cx + (u - (n - 1) / 2) * s / n``: the crop's central pixel
(index ``(n - 1) / 2``, e.g. 63 of 127 and 127 of 255) sits exactly on the box centre. Since
``s_x / 255 == s_z / 127``, the exemplar is exactly the central 127x127 of the search crop
(rows and columns ``64:191``), which is why curation stores only the search crop.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

EXEMPLAR_SIZE = 127  # exemplar crop side (z), pixels
SEARCH_SIZE = 255  # search crop side (x), pixels
CONTEXT = 0.5  # context margin as a fraction of (w + h): p = CONTEXT * (w + h) / 2
EXEMPLAR_OFFSET = (SEARCH_SIZE - EXEMPLAR_SIZE) // 2  # 64: exemplar = search[64:191, 64:191]
JPEG_REDUCTIONS = (1, 2, 4, 8)  # scale denominators libjpeg can decode at directly


def exemplar_side(w: float, h: float, context: float = CONTEXT) -> float:
    """Context square side ``s_z = sqrt((w + 2p)(h + 2p))`` with ``p = context * (w + h) / 2``."""
    margin = context * (w + h)
    return math.sqrt((w + margin) * (h + margin))


def search_side(s_z: float) -> float:
    """Search square side ``s_x = s_z * 255 / 127``: same scale as the exemplar, larger view."""
    return s_z * SEARCH_SIZE / EXEMPLAR_SIZE


def crop_scale(s_z: float) -> float:
    """Frame pixels per crop pixel (identical for exemplar and search crops)."""
    return s_z / EXEMPLAR_SIZE


def crop_matrix(cx: float, cy: float, side: float, out_size: int) -> np.ndarray:
    """2x3 affine map from crop pixel coordinates to frame coordinates."""
    a = side / out_size
    c = (out_size - 1) / 2
    return np.array([[a, 0.0, cx - a * c], [0.0, a, cy - a * c]], dtype=np.float64)


def crop(image: np.ndarray, cx: float, cy: float, side: float, out_size: int,
         fill: tuple[float, ...] | None = None) -> np.ndarray:
    """Square crop of ``side`` frame pixels centred on ``(cx, cy)``, resampled to ``out_size``.

    One bilinear affine warp, sub-pixel exact; the area outside the frame is filled with
    ``fill`` (default: the image's per-channel mean).
    """
    if fill is None:
        fill = channel_mean(image)
    matrix = crop_matrix(cx, cy, side, out_size)
    height, width = image.shape[:2]
    # Only the window the bilinear samples can reach is handed to the warp (one spare pixel each side).
    first, last = matrix[:, 2], matrix[:, 2] + matrix[:, :2].sum(axis=1) * (out_size - 1)
    x0, y0 = (max(0, min(int(math.floor(v)) - 1, n)) for v, n in zip(first, (width, height), strict=True))
    x1, y1 = (max(0, min(int(math.floor(v)) + 3, n)) for v, n in zip(last, (width, height), strict=True))
    fill = tuple(float(v) for v in fill)
    if x1 <= x0 or y1 <= y0:  # the square misses the frame entirely
        out = np.empty((out_size, out_size, *image.shape[2:]), dtype=image.dtype)
        out[...] = np.round(fill[: out.shape[2] if out.ndim == 3 else 1])
        return out
    window = image[y0:y1, x0:x1]
    matrix[:, 2] -= (x0, y0)
    three = window.ndim == 3 and window.shape[2] == 3
    if three:  # OpenCV's bilinear warp has a fast path for 4 channels: about twice the speed of 3
        window = cv2.cvtColor(window, cv2.COLOR_BGR2BGRA)
        fill = (*fill[:3], 0.0)
    out = cv2.warpAffine(window, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return cv2.cvtColor(out, cv2.COLOR_BGRA2BGR) if three else out


def exemplar_from_search(search: np.ndarray) -> np.ndarray:
    """The exemplar crop is the centre of the search crop (same centre, same scale)."""
    o = EXEMPLAR_OFFSET
    return search[o:o + EXEMPLAR_SIZE, o:o + EXEMPLAR_SIZE]


def channel_mean(image: np.ndarray) -> tuple[float, ...]:
    """Per-channel mean of an HxWxC image, the padding colour of SiamFC crops."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    return tuple(cv2.mean(image)[:channels])


def frame_to_crop(x: float, y: float, cx: float, cy: float, side: float, out_size: int) -> tuple[float, float]:
    """Frame point -> crop pixel coordinates (inverse of :func:`crop_matrix`)."""
    a = side / out_size
    c = (out_size - 1) / 2
    return (x - cx) / a + c, (y - cy) / a + c


def padded_fraction(cx: float, cy: float, side: float, width: int, height: int) -> float:
    """Fraction of the crop square that lies outside the frame (and is therefore mean padding)."""
    half = side / 2
    left, right, top, bottom = cx - half, cx + half, cy - half, cy + half
    if left >= -0.5 and top >= -0.5 and right <= width - 0.5 and bottom <= height - 0.5:
        return 0.0
    ix = max(0.0, min(right, width - 0.5) - max(left, -0.5))
    iy = max(0.0, min(bottom, height - 0.5) - max(top, -0.5))
    return max(0.0, 1.0 - (ix * iy) / (side * side))


def decode_reduction(min_scale: float, max_reduction: int = 8) -> int:
    """Largest JPEG decode reduction (1, 2, 4 or 8) not larger than ``min_scale``.

    ``min_scale`` is the smallest :func:`crop_scale` over a frame's crops: decoding at 1/f loses
    nothing that a crop shrinking by at least f would keep.
    """
    best = 1
    for f in JPEG_REDUCTIONS:
        if f <= min_scale and f <= max_reduction:
            best = f
    return best


def to_reduced(x: float, reduction: int) -> float:
    """Full-resolution coordinate -> coordinate in an image decoded at 1/``reduction``.

    A reduced pixel k averages full pixels ``k*f .. k*f + f - 1``, so its centre is at
    ``k*f + (f - 1) / 2`` in full-resolution coordinates.
    """
    return (x - (reduction - 1) / 2) / reduction
