"""The response-map convention: where each cell of a Siamese network's score map sits in the search crop.

One home for it, used by the training labels (:mod:`.labels`), the trainer's validation
(:func:`siamfc.model.head.response_peaks`) and the tracker (:mod:`siamfc.model.tracker`).

A fully-convolutional network of total stride ``s`` correlating an exemplar crop of side ``z`` with a search crop of
side ``x`` gives an ``R x R`` map, ``R = (x - z) // s + 1`` (17 for SiamFC's 127 / 255 crops at stride 8). Cell
``(i, j)`` (row ``i``, column ``j``) sits at search-crop offset ``((j - c) * s, (i - c) * s)`` from the crop's
central pixel, ``c = (R - 1) / 2``: the central cell is the crop centre, where the exemplar came from.

A map enlarged ``u`` times by interpolation with half-pixel centres (``cv2.resize``, ``F.interpolate`` with
``align_corners=False``) has ``R * u`` pixels a side; its pixel ``p`` covers cell coordinate ``(p + 0.5) / u - 0.5``,
so the centre stays the centre and a peak at pixel ``p`` is ``((p + 0.5) / u - 0.5 - c) * s`` crop pixels from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np

T = TypeVar("T")  # a number, a numpy array or a torch tensor: the mapping is plain arithmetic


@dataclass(frozen=True)
class ResponseGrid:
    """An ``size x size`` response map whose cells are ``stride`` search-crop pixels apart."""

    size: int
    stride: int

    def __post_init__(self) -> None:
        if self.size < 1 or self.stride < 1:
            raise ValueError(f"a response map needs a size and a stride of at least 1, got {self.size}, {self.stride}")

    @classmethod
    def for_crops(cls, exemplar_size: int, search_size: int, stride: int) -> ResponseGrid:
        """The map of a ``stride`` network correlating ``exemplar_size`` with ``search_size`` crops."""
        if search_size < exemplar_size:
            raise ValueError(f"search crop {search_size} is smaller than the exemplar {exemplar_size}")
        return cls((search_size - exemplar_size) // stride + 1, stride)

    @property
    def centre(self) -> float:
        """Index of the central cell, ``(size - 1) / 2``."""
        return (self.size - 1) / 2

    def cell_offsets(self) -> np.ndarray:
        """Search-crop offset from the crop centre of each column (or row), float64 ``[size]``."""
        return (np.arange(self.size, dtype=np.float64) - self.centre) * self.stride

    def upsampled_size(self, upsample: int) -> int:
        """Side of the map enlarged ``upsample`` times (272 for 17 and 16)."""
        return self.size * upsample

    def offset(self, pixel: T, upsample: int = 1) -> T:
        """Search-crop offset from the crop centre of pixel ``pixel`` (column or row) of the ``upsample``-times map."""
        return ((pixel + 0.5) / upsample - 0.5 - self.centre) * self.stride
