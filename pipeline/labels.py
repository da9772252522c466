"""Score-map labels and balanced weights: SiamFC's logistic-loss targets, shared by the trainer and the tracker.

Cells sit where :mod:`.response_map` says (cell ``(i, j)`` at search-crop offset ``((j - c) * stride, (i - c) *
stride)`` from the crop centre). A cell is positive when that offset lies within ``radius`` search-crop pixels of
the target centre (SiamFC: ``r_pos = 16``, two cells), negative otherwise. The weights make
each class sum to 0.5, so the loss is balanced whatever the number of positives.

Translation augmentation moves the target by whole pixels within a bounded range, so :class:`LabelTable` computes the
maps once for every possible offset and the sampler only looks them up.
"""

from __future__ import annotations

import numpy as np

from .response_map import ResponseGrid

POSITIVE_RADIUS = 16.0  # SiamFC r_pos, search-crop pixels
# Cell spacing of the labels of pairs made for no network in particular (the pipeline's tests and benchmark): that of
# SiamFC's AlexNet. Training never uses it: the trainer passes its network's response grid (a backbone's stride lives
# only in its class, siamfc.model.backbone), so there is nothing here to keep equal to it.
UNSPECIFIED_STRIDE = 8


def default_grid(exemplar_size: int, search_size: int) -> ResponseGrid:
    """The response map labels describe when no network gives one: :data:`UNSPECIFIED_STRIDE` for these crops."""
    return ResponseGrid.for_crops(exemplar_size, search_size, UNSPECIFIED_STRIDE)


def response_size(exemplar_size: int, search_size: int, stride: int) -> int:
    """Side of the response map of a fully-convolutional Siamese net: ``(x - z) // stride + 1``."""
    return ResponseGrid.for_crops(exemplar_size, search_size, stride).size


def score_labels(target: tuple[float, float], response_size: int, stride: int,
                 radius: float = POSITIVE_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """(label, weight), float32 ``[R, R]``, for a target centred at ``target = (dx, dy)`` search-crop pixels from
    the crop centre.

    ``label`` is 1 where a cell's offset is within ``radius`` of the target (distance ``<= radius``), else 0.
    ``weight`` is ``0.5 / n_pos`` on positives and ``0.5 / n_neg`` on negatives; if a class is empty the other
    one carries the whole weight (sum 1).
    """
    offsets = ResponseGrid(response_size, stride).cell_offsets()
    dx = offsets[None, :] - float(target[0])
    dy = offsets[:, None] - float(target[1])
    label = (dx * dx + dy * dy <= float(radius) ** 2).astype(np.float32)
    n_pos = int(label.sum())
    n_neg = label.size - n_pos
    pos = (0.5 if n_neg else 1.0) / n_pos if n_pos else 0.0
    neg = (0.5 if n_pos else 1.0) / n_neg if n_neg else 0.0
    weight = np.where(label > 0, pos, neg).astype(np.float32)
    return label, weight


class LabelTable:
    """Label and weight maps for every whole-pixel target offset in ``[-max_shift, max_shift]^2``, computed once, for
    a ``response_size`` map of cells ``stride`` pixels apart (a network's ``ResponseGrid``)."""

    def __init__(self, max_shift: int, response_size: int, stride: int,
                 radius: float = POSITIVE_RADIUS):
        self.max_shift = int(max_shift)
        shifts = range(-self.max_shift, self.max_shift + 1)
        pairs = [[score_labels((dx, dy), response_size, stride, radius) for dx in shifts] for dy in shifts]
        self._label = np.array([[p[0] for p in row] for row in pairs])
        self._weight = np.array([[p[1] for p in row] for row in pairs])
        self._label.flags.writeable = self._weight.flags.writeable = False

    def maps(self, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
        """(label, weight) float32 ``[R, R]`` for a target at whole-pixel offset ``(dx, dy)``: read-only views of
        the table, to copy from."""
        m = self.max_shift
        if not (-m <= dx <= m and -m <= dy <= m):
            raise ValueError(f"target offset ({dx}, {dy}) outside the table's range +-{m}")
        return self._label[dy + m, dx + m], self._weight[dy + m, dx + m]
