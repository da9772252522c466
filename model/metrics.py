"""One-pass evaluation metrics on ``x, y, w, h`` boxes (OTB / got10k conventions).

- IoU of axis-aligned rectangles: a box covers ``[x, x + w) x [y, y + h)`` (the 0-based pixel convention of
  :mod:`siamfc.curate.boxes` shifted by half a pixel, which changes no overlap).
- Centre error: Euclidean distance of the centres ``x + (w - 1) / 2, y + (h - 1) / 2`` (frame pixels).
- Normalised centre error (TrackingNet, LaSOT): the centre offset divided by the ground-truth width and height
  per axis, then the Euclidean norm, so it does not grow with the target's size.
- Success curve: fraction of frames with IoU *strictly above* each threshold of ``np.linspace(0, 1, 21)``;
  its mean is the AUC (OTB's success score).
- Precision curve: fraction of frames with centre error *at most* each threshold of ``0, 1, ..., 50`` px;
  the value at 20 px is OTB's precision score. The normalised precision curve runs over
  ``np.linspace(0, 0.5, 51)`` and is summarised by its mean (its AUC), as TrackingNet and LaSOT report it.

Frames whose ground truth is missing (NaN, or a zero width or height) are left out of :func:`sequence_curves`: see
:func:`valid_frames`. :func:`benchmark_curves` applies a benchmark's own rule for them
(:attr:`siamfc.curate.benchmarks.Benchmark.not_visible`): ``drop`` leaves them out, ``fail`` counts them in the
frame total as failures (OTB's, LaSOT's and TNL2K's toolkits), ``placeholder`` scores them against the box the
annotation writes there (NfS). The IoU is the got10k toolkit's (``inter / (union + eps)``, clipped to [0, 1]), so
figures computed on the same boxes agree with its ``report`` to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IOU_THRESHOLDS = np.linspace(0, 1, 21)
PIXEL_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORM_THRESHOLDS = np.linspace(0, 0.5, 51)
PRECISION_PIXELS = 20


def rect_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``x, y, w, h`` boxes, row by row (arrays ``[..., 4]``); 0 when either box is empty."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    iw = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)  # the got10k toolkit's formula
    return np.where(union > 0, iou, 0.0)


def centres(boxes: np.ndarray) -> np.ndarray:
    """Box centres ``[..., 2]`` in the 0-based pixel convention."""
    b = np.asarray(boxes, dtype=np.float64)
    return b[..., :2] + (b[..., 2:] - 1) / 2


def center_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between box centres in pixels."""
    return np.linalg.norm(centres(a) - centres(b), axis=-1)


def normalized_center_error(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Centre offset divided by the ground-truth ``w, h`` per axis, then its norm."""
    gt = np.asarray(gt, dtype=np.float64)
    return np.linalg.norm((centres(boxes) - centres(gt)) / gt[..., 2:], axis=-1)


def valid_frames(gt: np.ndarray) -> np.ndarray:
    """Frames with a usable ground-truth box: all finite, width and height positive."""
    gt = np.asarray(gt, dtype=np.float64)
    return np.all(np.isfinite(gt), axis=-1) & (gt[..., 2] > 0) & (gt[..., 3] > 0)


def success_curve(ious: np.ndarray, thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """Fraction of frames whose IoU is strictly above each threshold."""
    return np.mean(np.asarray(ious)[:, None] > thresholds[None, :], axis=0)


def precision_curve(errors: np.ndarray, thresholds: np.ndarray = PIXEL_THRESHOLDS) -> np.ndarray:
    """Fraction of frames whose (normalised) centre error is at most each threshold."""
    return np.mean(np.asarray(errors)[:, None] <= thresholds[None, :], axis=0)


@dataclass(frozen=True)
class Curves:
    """Success, precision and normalised precision curves of one sequence or of a whole run."""

    success: np.ndarray  # over IOU_THRESHOLDS
    precision: np.ndarray  # over PIXEL_THRESHOLDS
    norm_precision: np.ndarray  # over NORM_THRESHOLDS

    @property
    def auc(self) -> float:
        """Success score: the mean of the success curve."""
        return float(np.mean(self.success))

    @property
    def precision_20(self) -> float:
        """Precision at 20 pixels."""
        return float(self.precision[PRECISION_PIXELS])

    @property
    def norm_precision_auc(self) -> float:
        """Normalised precision: the mean of its curve over 0 .. 0.5."""
        return float(np.mean(self.norm_precision))


def sequence_curves(boxes: np.ndarray, gt: np.ndarray) -> Curves:
    """Curves of one sequence over its frames with valid ground truth.

    Raises ValueError when the arrays differ in length or no frame has ground truth.
    """
    boxes, gt = np.asarray(boxes, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if boxes.shape != gt.shape:
        raise ValueError(f"{len(boxes)} boxes for {len(gt)} ground-truth rows")
    keep = valid_frames(gt)
    if not keep.any():
        raise ValueError("no frame with a valid ground-truth box")
    b, g = boxes[keep], gt[keep]
    return Curves(success_curve(rect_iou(b, g)), precision_curve(center_error(b, g)),
                  precision_curve(normalized_center_error(b, g), NORM_THRESHOLDS))


def benchmark_curves(boxes: np.ndarray, gt: np.ndarray, not_visible: str = "drop", first_from_gt: bool = False,
                     ) -> Curves:
    """Curves of one sequence by a benchmark's rule for frames without a usable ground-truth box (module
    docstring): ``drop`` (:func:`sequence_curves`), ``fail`` or ``placeholder`` (``gt`` then holds the placeholder
    boxes; frames still without one fail). ``first_from_gt``: the first box is replaced by the ground truth's, as
    got10k's ``ExperimentOTB.report`` does. A sequence without any usable frame scores 0 (``fail``) or raises
    ValueError (``drop``)."""
    boxes, gt = np.array(boxes, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if first_from_gt and len(gt) and np.all(np.isfinite(gt[0])):
        boxes[0] = gt[0]
    if not_visible == "drop":
        return sequence_curves(boxes, gt)
    keep = valid_frames(gt)
    if not keep.any():
        return Curves(np.zeros(len(IOU_THRESHOLDS)), np.zeros(len(PIXEL_THRESHOLDS)), np.zeros(len(NORM_THRESHOLDS)))
    scored = sequence_curves(boxes, gt)
    share = keep.sum() / len(gt)  # successes over every frame: the frames without a box never succeed
    return Curves(scored.success * share, scored.precision * share, scored.norm_precision * share)


def mean_curves(curves: list[Curves]) -> Curves:
    """Average of per-sequence curves: every sequence weighs the same, as in OTB's toolkit."""
    if not curves:
        raise ValueError("no sequence to average")
    return Curves(*(np.mean([getattr(c, f) for c in curves], axis=0)
                    for f in ("success", "precision", "norm_precision")))


def bounded(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """``x, y, w, h`` boxes cut to a ``width`` x ``height`` frame as the GOT-10k toolkit does: ``x, y`` clipped to
    ``[0, width]`` / ``[0, height]``, then ``w, h`` to what is left of the frame."""
    b = np.array(boxes, dtype=np.float64)
    b[:, 0] = np.clip(b[:, 0], 0, width)
    b[:, 1] = np.clip(b[:, 1], 0, height)
    b[:, 2] = np.clip(b[:, 2], 0, width - b[:, 0])
    b[:, 3] = np.clip(b[:, 3], 0, height - b[:, 1])
    return b


def got10k_overlaps(boxes: np.ndarray, gt: np.ndarray, cover: np.ndarray, resolution: tuple[int, int]) -> np.ndarray:
    """The IoUs GOT-10k's toolkit scores a sequence by: the first frame left out, only frames whose ``cover``
    class is above 0 (target visible), both boxes cut to the frame (:func:`bounded`)."""
    w, h = resolution
    ious = rect_iou(bounded(boxes[1:], w, h), bounded(gt[1:], w, h))
    return ious[np.asarray(cover)[1:] > 0]


def got10k_figures(ious: np.ndarray) -> dict[str, float]:
    """GOT-10k's average overlap and success rates at 0.5 and 0.75 over ``ious`` (all frames weigh the same)."""
    ious = np.asarray(ious, dtype=np.float64)
    if not len(ious):
        return {"ao": float("nan"), "sr50": float("nan"), "sr75": float("nan")}
    return {"ao": float(ious.mean()), "sr50": float((ious > 0.5).mean()), "sr75": float((ious > 0.75).mean())}
