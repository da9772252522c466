"""Box formats and their conversions, with one pixel convention for the whole package.

Pixel convention: pixel (column i, row j) has its centre at the continuous point (i, j) and
covers [i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]. Coordinates are 0-based.

Formats (all arrays with a trailing axis of 4):
- ``xyxy``: VID XML boxes (xmin, ymin, xmax, ymax), *inclusive* pixel indices, so the width is
  ``xmax - xmin + 1`` and the centre ``(xmin + xmax) / 2``.
- ``xywh``: (x, y, w, h) with (x, y) the 0-based top-left pixel and (w, h) the size in pixels, as in
  the got10k toolkit. OTB's text files are 1-based: subtract 1 from x and y when reading them.
- ``cxcywh``: centre (pixel convention above) and size in pixels; what geometry works in.

One validity rule for an ``xywh`` box that tracking starts from or is scored against (:func:`valid_xywh`): four
finite numbers, width and height above 0. The tracker's initial box, ``siamfc track --init`` and the first
ground-truth box of an evaluated sequence all follow it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import UserError


def valid_xywh(boxes: Sequence[float] | np.ndarray) -> np.ndarray:
    """Whether each ``x, y, w, h`` box (trailing axis of 4) is usable: four finite numbers, ``w`` and ``h`` above 0.

    A bool array of the leading shape (a 0-d one, usable as a bool, for one box); False for anything whose trailing
    axis is not 4."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim == 0 or b.shape[-1] != 4:
        return np.zeros(b.shape[:-1], dtype=bool)
    return np.all(np.isfinite(b), axis=-1) & (b[..., 2] > 0) & (b[..., 3] > 0)


def check_xywh(box: Sequence[float] | np.ndarray, what: str = "box") -> np.ndarray:
    """One ``x, y, w, h`` box as a float64 array; UserError naming ``what`` unless :func:`valid_xywh`."""
    try:
        array = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError):  # not numbers at all
        array = np.zeros(0)
    if array.shape != (4,) or not valid_xywh(array):
        shown = array.tolist() if array.size else box
        raise UserError(f"{what} {shown}: expected finite x, y, w, h with w and h above 0")
    return array


def xyxy_to_cxcywh(box: np.ndarray) -> np.ndarray:
    """VID (xmin, ymin, xmax, ymax) inclusive -> (cx, cy, w, h)."""
    b = np.asarray(box, dtype=np.float64)
    w = b[..., 2] - b[..., 0] + 1
    h = b[..., 3] - b[..., 1] + 1
    return np.stack([(b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2, w, h], axis=-1)


def cxcywh_to_xyxy(box: np.ndarray) -> np.ndarray:
    """(cx, cy, w, h) -> VID (xmin, ymin, xmax, ymax) inclusive (not rounded)."""
    b = np.asarray(box, dtype=np.float64)
    half_w, half_h = (b[..., 2] - 1) / 2, (b[..., 3] - 1) / 2
    return np.stack([b[..., 0] - half_w, b[..., 1] - half_h, b[..., 0] + half_w, b[..., 1] + half_h], axis=-1)


def xywh_to_cxcywh(box: np.ndarray) -> np.ndarray:
    """0-based (x, y, w, h) -> (cx, cy, w, h)."""
    b = np.asarray(box, dtype=np.float64)
    return np.stack([b[..., 0] + (b[..., 2] - 1) / 2, b[..., 1] + (b[..., 3] - 1) / 2, b[..., 2], b[..., 3]], axis=-1)


def cxcywh_to_xywh(box: np.ndarray) -> np.ndarray:
    """(cx, cy, w, h) -> 0-based (x, y, w, h)."""
    b = np.asarray(box, dtype=np.float64)
    return np.stack([b[..., 0] - (b[..., 2] - 1) / 2, b[..., 1] - (b[..., 3] - 1) / 2, b[..., 2], b[..., 3]], axis=-1)


def xywh_to_xyxy(box: np.ndarray, one_based: bool = False) -> np.ndarray:
    """(x, y, w, h) with (x, y) the top-left pixel -> ``xyxy`` inclusive 0-based (``xmax = x + w - 1``).

    ``one_based``: (x, y) counts pixels from 1, as MATLAB-made files do (OTB): 1 is subtracted."""
    b = np.asarray(box, dtype=np.float64)
    x, y = b[..., 0] - one_based, b[..., 1] - one_based
    return np.stack([x, y, x + b[..., 2] - 1, y + b[..., 3] - 1], axis=-1)
