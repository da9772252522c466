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
from typing import NamedTuple, TypeVar

import cv2
import numpy as np
import torch

from siamfc.curate.geometry import SEARCH_SIZE

from .sampler_config import AugmentOptions

Array = TypeVar("Array", np.ndarray, torch.Tensor)

TABLE_GROUPS = {"z_source": 2, "x_size": 2, "shift": 2, "flip": 1, "gray": 1, "z_gain": 3, "x_gain": 3}
"""The column groups of :func:`draw_augment`'s table, in order, with their widths (the :class:`PairAugment` fields).
Table column ``k`` is made from uniform column ``k``: the uniforms have the same layout."""
AUGMENT_COLUMNS = sum(TABLE_GROUPS.values())  # width of draw_augment's table (14)
U_COLUMNS = AUGMENT_COLUMNS  # uniforms per pair, one per table column
GRAY_WEIGHTS = (0.114, 0.587, 0.299)  # B, G, R: ITU-R BT.601 luma, as cv2.COLOR_BGR2GRAY


def _slices(groups: dict[str, int]) -> dict[str, slice]:
    ends = np.cumsum(list(groups.values())).tolist()
    return {name: slice(end - width, end) for (name, width), end in zip(groups.items(), ends, strict=True)}


COLUMNS = _slices(TABLE_GROUPS)  # group -> its columns of the table (and of the uniforms)


def column(table: Array, group: str) -> Array:
    """Group ``group`` of an augmentation table ``[n, AUGMENT_COLUMNS]`` (numpy or torch): ``[n, width]``, or ``[n]``
    for the one-column groups (flip, gray)."""
    s = COLUMNS[group]
    return table[:, s.start] if s.stop - s.start == 1 else table[:, s]


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
        g = {name: r[s] for name, s in COLUMNS.items()}
        return cls(_ints(g["z_source"]), _ints(g["x_size"]), _ints(g["shift"]), g["flip"][0] > 0, g["gray"][0] > 0,
                   tuple(g["z_gain"]), tuple(g["x_gain"]))


def _ints(values: list[float]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def nearest_odd(v: np.ndarray) -> np.ndarray:
    """Nearest odd integer of each value (int64)."""
    return 2 * np.floor(np.asarray(v, dtype=np.float64) / 2).astype(np.int64) + 1


def draw_augment(u: np.ndarray, options: AugmentOptions, exemplar_size: int,
                 stored_size: int = SEARCH_SIZE) -> np.ndarray:
    """Augmentation table, float64 ``[n, AUGMENT_COLUMNS]``, of ``n`` rows of uniforms in [0, 1) (``U_COLUMNS``
    columns), laid out as :data:`TABLE_GROUPS`: exemplar source (w, h), search size (w, h), shift (dx, dy), flip,
    gray, exemplar gains (3), search gains (3). One row becomes a :class:`PairAugment` with
    :meth:`PairAugment.from_row`."""
    o, c = options, COLUMNS

    def spread(col: np.ndarray, amount: float) -> np.ndarray:  # uniform in [1 - amount, 1 + amount]
        return 1.0 + amount * (2.0 * col - 1.0)

    table = np.empty((len(u), AUGMENT_COLUMNS))
    table[:, c["z_source"]] = np.minimum(nearest_odd(exemplar_size / spread(u[:, c["z_source"]], o.exemplar_stretch)),
                                         stored_size)
    table[:, c["x_size"]] = nearest_odd(stored_size * spread(u[:, c["x_size"]], o.search_stretch))
    t = o.max_translate
    table[:, c["shift"]] = np.minimum(np.floor(u[:, c["shift"]] * (2 * t + 1)), 2 * t) - t
    table[:, c["flip"]] = u[:, c["flip"]] < o.flip
    table[:, c["gray"]] = u[:, c["gray"]] < o.grayscale
    table[:, c["z_gain"]] = spread(u[:, c["z_gain"]], o.color_jitter)
    table[:, c["x_gain"]] = spread(u[:, c["x_gain"]], o.color_jitter)
    return table


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
