"""SiamFC training augmentation of a stored pair: stretch, translation, flip, colour jitter, grayscale.

Inputs are stored 255x255 BGR search crops whose central pixel (127, 127) is the target centre (see
:mod:`siamfc.curate.geometry`). Every geometric step keeps a known pixel on the target, so its position after
augmentation is exact and whole-pixel:

- stretch (scale and aspect, independent factors in ``[1 - s, 1 + s]`` per axis): a ``cv2.resize`` between *odd*
  sizes. cv2's bilinear resize maps the central pixel of an odd source onto the central pixel of an odd output, so
  the target stays on a pixel centre. The factor is quantised to the nearest odd size: steps of 2/255 (0.8 %) for
  the search crop (the whole stored crop is resized), 2/127 (1.6 %) for the exemplar (its odd central region is
  resized to 127x127). Resizing, not ``cv2.warpAffine``: with this opencv a bilinear 255x255 warp costs about 3.3
  resizes of the same crop (1.6 through its 4-channel fast path, plus the channel conversion), and a resize already
  costs about 0.6 of the JPEG decode that is the floor of a pair's work.
- translation (search crop only): the stretched crop is pasted with its centre at ``(c + dx, c + dy)``,
  ``c = (size - 1) / 2``, ``dx, dy`` whole pixels in ``[-t, t]``; uncovered pixels get the stored crop's mean colour
  (SiamFC's padding). The exemplar stays centred, as the tracker assumes.
- flip: both crops mirrored about their central column, which keeps the target column.
- grayscale (both crops of a pair) and colour jitter (per-channel gains in ``[1 - j, 1 + j]``, drawn per crop; the
  mean gain when the pair is gray) act on pixel values only.

Output is written straight into CHW uint8 arrays (``cv2.split`` into their planes), rows of a batch when given.
All random numbers come in as uniforms (:data:`U_COLUMNS` per pair) and :func:`draw_augment` turns a block of them
into sizes, shifts and flags with numpy; the per-pair work is resizes and copies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
import torch

from siamfc.curate.geometry import SEARCH_SIZE

U_COLUMNS = 14  # uniforms per pair: stretch z (2), stretch x (2), shift (2), flip, gray, gains z (3), gains x (3)
AUGMENT_COLUMNS = 14  # columns of draw_augment's table: z source (2), x size (2), shift (2), flip, gray, gains (6)
GRAY_WEIGHTS = (0.114, 0.587, 0.299)  # B, G, R: ITU-R BT.601 luma, as cv2.COLOR_BGR2GRAY


@dataclass(frozen=True)
class AugmentOptions:
    """Augmentation strengths (defaults live in :class:`siamfc.pipeline.dataset.SamplerConfig`)."""

    exemplar_stretch: float  # max relative stretch per axis of the exemplar
    search_stretch: float  # max relative stretch per axis of the search crop
    max_translate: int  # max target shift in the search crop, whole pixels per axis
    flip: float  # probability of mirroring both crops
    grayscale: float  # probability of making both crops gray
    color_jitter: float  # max relative per-channel gain change


class PairAugment(NamedTuple):
    """What to do to one pair (sizes in pixels; see :func:`draw_augment`)."""

    z_source: tuple[int, int]  # (w, h) odd central region of the exemplar's stored crop resized to the exemplar
    x_size: tuple[int, int]  # (w, h) odd size the search's stored crop is resized to
    shift: tuple[int, int]  # (dx, dy) target offset from the search-crop centre
    flip: bool
    gray: bool
    z_gain: tuple[float, float, float]  # B, G, R gains (1 = unchanged)
    x_gain: tuple[float, float, float]

    @classmethod
    def from_row(cls, row: np.ndarray) -> PairAugment:
        """The augmentation of one row of :func:`draw_augment`'s table."""
        r = row.tolist()
        return cls((int(r[0]), int(r[1])), (int(r[2]), int(r[3])), (int(r[4]), int(r[5])), r[6] > 0, r[7] > 0,
                   (r[8], r[9], r[10]), (r[11], r[12], r[13]))


def nearest_odd(v: np.ndarray) -> np.ndarray:
    """Nearest odd integer of each value (int64)."""
    return 2 * np.floor(np.asarray(v, dtype=np.float64) / 2).astype(np.int64) + 1


def draw_augment(u: np.ndarray, options: AugmentOptions, exemplar_size: int,
                 stored_size: int = SEARCH_SIZE) -> np.ndarray:
    """Augmentation table, float64 ``[n, 14]``, of ``n`` rows of uniforms in [0, 1) (``U_COLUMNS`` columns):
    exemplar source (w, h), search size (w, h), shift (dx, dy), flip, gray, exemplar gains (3), search gains (3).
    One row becomes a :class:`PairAugment` with :meth:`PairAugment.from_row`."""
    o = options

    def spread(col: np.ndarray, amount: float) -> np.ndarray:  # uniform in [1 - amount, 1 + amount]
        return 1.0 + amount * (2.0 * col - 1.0)

    z_src = np.minimum(nearest_odd(exemplar_size / spread(u[:, 0:2], o.exemplar_stretch)), stored_size)
    x_size = nearest_odd(stored_size * spread(u[:, 2:4], o.search_stretch))
    shift = np.minimum(np.floor(u[:, 4:6] * (2 * o.max_translate + 1)), 2 * o.max_translate) - o.max_translate
    flags = (u[:, 6:8] < (o.flip, o.grayscale)).astype(np.float64)
    gains = spread(u[:, 8:14], o.color_jitter)
    return np.concatenate([z_src, x_size, shift, flags, gains], axis=1)


def exemplar_image(crop: np.ndarray, source: tuple[int, int], size: int, flip: bool) -> np.ndarray:
    """``size x size`` HWC exemplar: the odd ``source = (w, h)`` central region of ``crop``, resized, mirrored."""
    cy, cx = (crop.shape[0] - 1) // 2, (crop.shape[1] - 1) // 2
    hw, hh = (source[0] - 1) // 2, (source[1] - 1) // 2
    region = crop[cy - hh:cy + hh + 1, cx - hw:cx + hw + 1]
    if region.shape[:2] == (size, size):
        image = np.ascontiguousarray(region)
    else:
        image = cv2.resize(region, (size, size), interpolation=cv2.INTER_LINEAR)
    return cv2.flip(image, 1) if flip else image


def search_image(crop: np.ndarray, size: tuple[int, int], flip: bool) -> np.ndarray:
    """The whole ``crop`` resized to the odd ``size = (w, h)`` (centre stays the centre), mirrored if asked."""
    image = crop if crop.shape[1::-1] == tuple(size) else cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)
    return cv2.flip(image, 1) if flip else image


def to_chw(image: np.ndarray, size: int, shift: tuple[int, int] = (0, 0),
           fill: Callable[[], tuple[int, ...]] | None = None, out: np.ndarray | None = None) -> torch.Tensor:
    """uint8 ``[3, size, size]`` tensor holding ``image`` (HWC BGR, or HW gray copied to 3 planes), with the image's
    central pixel at ``((size - 1) / 2 + dx, (size - 1) / 2 + dy)``; pixels it does not cover get the per-channel
    colour ``fill()`` returns (called only then; required when some are uncovered). Written into ``out`` (a
    C-contiguous uint8 ``[3, size, size]`` array) when given."""
    o = np.empty((3, size, size), np.uint8) if out is None else out
    h, w = image.shape[:2]
    x0 = (size - 1) // 2 + shift[0] - (w - 1) // 2
    y0 = (size - 1) // 2 + shift[1] - (h - 1) // 2
    planes = [image] * 3 if image.ndim == 2 else None
    if x0 == 0 and y0 == 0 and w == h == size:
        if planes is None:
            cv2.split(np.ascontiguousarray(image), [o[0], o[1], o[2]])
        else:
            o[:] = image
        return torch.from_numpy(o)
    if planes is None:
        planes = cv2.split(np.ascontiguousarray(image))
    ox0, oy0, ox1, oy1 = max(x0, 0), max(y0, 0), min(x0 + w, size), min(y0 + h, size)
    if ox0 > 0 or oy0 > 0 or ox1 < size or oy1 < size:
        if fill is None:
            raise ValueError(f"a {w}x{h} image shifted by {shift} does not cover {size}x{size}: fill needed")
        colour = fill()
        for c in range(3):
            o[c].fill(colour[c])
    if ox1 > ox0 and oy1 > oy0:
        for c in range(3):
            o[c, oy0:oy1, ox0:ox1] = planes[c][oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0]
    return torch.from_numpy(o)


def mean_colour(crop: np.ndarray, gray: bool = False) -> tuple[int, int, int]:
    """The crop's rounded per-channel mean (SiamFC's padding colour); its luma on all channels if ``gray``."""
    mean = cv2.mean(crop)[:3]
    if gray:
        luma = int(round(sum(w * v for w, v in zip(GRAY_WEIGHTS, mean, strict=True))))
        return luma, luma, luma
    return int(round(mean[0])), int(round(mean[1])), int(round(mean[2]))


def apply_gains(chw: torch.Tensor, gains: tuple[float, float, float]) -> None:
    """Multiply each plane of a uint8 CHW tensor by its gain in place (rounded, saturated)."""
    o = chw.numpy()
    for c, g in enumerate(gains):
        if g != 1.0:
            cv2.convertScaleAbs(o[c], o[c], alpha=g)


def augment_pair(z_crop: np.ndarray, x_crop: np.ndarray, aug: PairAugment, exemplar_size: int, search_size: int,
                 out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(exemplar ``[3, z, z]``, search ``[3, x, x]``) uint8 CHW tensors of a pair of stored crops, written into
    ``out`` (two C-contiguous uint8 arrays of those shapes) when given.

    The target sits at the exemplar's centre and at ``centre + aug.shift`` of the search crop."""
    z = exemplar_image(z_crop, aug.z_source, exemplar_size, aug.flip)
    x = search_image(x_crop, aug.x_size, aug.flip)
    if aug.gray:
        z, x = cv2.cvtColor(z, cv2.COLOR_BGR2GRAY), cv2.cvtColor(x, cv2.COLOR_BGR2GRAY)
    z_out, x_out = out if out is not None else (None, None)
    z_chw = to_chw(z, exemplar_size, out=z_out)
    x_chw = to_chw(x, search_size, aug.shift, lambda: mean_colour(x_crop, aug.gray), out=x_out)
    z_gain, x_gain = aug.z_gain, aug.x_gain
    if aug.gray:
        z_gain, x_gain = (sum(z_gain) / 3,) * 3, (sum(x_gain) / 3,) * 3
    apply_gains(z_chw, z_gain)
    apply_gains(x_chw, x_gain)
    return z_chw, x_chw
