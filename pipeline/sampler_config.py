"""The pair sampler's configuration (:class:`SamplerConfig`), importable without torch.

:class:`AugmentOptions` is the augmentation part of it as :mod:`.augment` takes it, :data:`AUGMENT_ON` the places
:class:`~.loader.PairLoader` can augment pairs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from siamfc.curate.config_checks import check_fields, check_types
from siamfc.curate.geometry import EXEMPLAR_SIZE, SEARCH_SIZE

from .labels import POSITIVE_RADIUS
from .pairs import RecordFilter

AUGMENT_ON = ("auto", "workers", "device")  # where PairLoader augments: auto = device on CUDA, workers otherwise
MAX_TRANSLATE_LIMIT = 64  # label maps are tabulated per whole-pixel shift: (2t + 1)^2 of them


@dataclass(frozen=True)
class SamplerConfig:
    """What the pair stream is. Defaults follow SiamFC (Bertinetto et al. 2016) and its reference training code.

    The labels' response grid (its size and cell spacing) is not a field: it is the trained network's, which the
    trainer passes to :class:`~.dataset.PairDataset` (``grid``); the ``stride`` of an older ``config.json`` is
    ignored.
    """

    # -- the stream
    pairs_per_epoch: int = 50_000  # pairs per epoch over all ranks (SiamFC: 50,000)
    max_gap: int = 100  # largest frame distance between exemplar and search frames (SiamFC: T = 100)
    seed: int = 0  # with the epoch and the pair index, fixes every pair
    # -- records that may be drawn (applies to exemplar and search alike)
    skip_generated: bool = False  # drop VID's interpolated boxes (generated=1); SiamFC trained on all
    skip_occluded: bool = False  # drop boxes flagged occluded
    min_size: float = 10.0  # drop boxes with a side under this many frame pixels (crops of them are mostly blur)
    max_pad_z: float = 0.5  # drop records whose exemplar context is more than half padding outside the frame
    max_pad_x: float = 1.0  # same for the search crop (1.0: keep all; large objects near an edge pad a lot)
    # -- crops and score-map labels
    exemplar_size: int = EXEMPLAR_SIZE  # z side, odd; at most 255 * (1 - exemplar_stretch)
    search_size: int = SEARCH_SIZE  # x side, odd (e.g. 239 gives a 15x15 map, as siamfc-pytorch)
    radius: float = POSITIVE_RADIUS  # positive radius, search-crop pixels (SiamFC: 16)
    # -- augmentation (SiamFC: stretch 0.05 and translation 4 on; colour/gray/flip are extras, off)
    exemplar_stretch: float = 0.05  # per-axis scale/aspect stretch of the exemplar, factor in [1 - s, 1 + s]
    search_stretch: float = 0.05  # same for the search crop (the costliest step: ~1/3 of a pair's time)
    max_translate: int = 4  # search-crop target shift, whole pixels per axis in [-t, t]; labels follow it
    flip: float = 0.0  # probability of mirroring both crops horizontally
    grayscale: float = 0.0  # probability of turning both crops gray
    color_jitter: float = 0.0  # per-channel gain in [1 - j, 1 + j], drawn per crop

    def __post_init__(self) -> None:
        check_types(self)  # every field of its annotated type first: the range checks below assume it
        checks = [
            ("pairs_per_epoch", self.pairs_per_epoch >= 1, "at least 1"),
            ("max_gap", self.max_gap >= 1, "at least 1"),
            ("seed", self.seed >= 0, "non-negative"),
            ("min_size", self.min_size >= 0, "non-negative"),
            ("max_pad_z", 0 <= self.max_pad_z <= 1, "in [0, 1]"),
            ("max_pad_x", 0 <= self.max_pad_x <= 1, "in [0, 1]"),
            ("exemplar_size", self.exemplar_size >= 1 and self.exemplar_size % 2 == 1, "odd and positive"),
            ("search_size", self.search_size >= self.exemplar_size and self.search_size % 2 == 1,
             "odd and at least exemplar_size"),
            ("radius", self.radius >= 0, "non-negative"),
            ("exemplar_stretch", 0 <= self.exemplar_stretch < 0.5
             and self.exemplar_size / (1 - self.exemplar_stretch) <= SEARCH_SIZE + 1,
             f"in [0, 0.5) with exemplar_size / (1 - stretch) within the stored {SEARCH_SIZE} crop"),
            ("search_stretch", 0 <= self.search_stretch < 0.5, "in [0, 0.5)"),
            ("max_translate", 0 <= self.max_translate <= MAX_TRANSLATE_LIMIT, f"in [0, {MAX_TRANSLATE_LIMIT}]"),
            ("flip", 0 <= self.flip <= 1, "a probability"),
            ("grayscale", 0 <= self.grayscale <= 1, "a probability"),
            ("color_jitter", 0 <= self.color_jitter < 1, "in [0, 1)"),
        ]
        checks += [(f.name, math.isfinite(getattr(self, f.name)), "a finite number")
                   for f in dataclasses.fields(self) if isinstance(getattr(self, f.name), float)]
        check_fields(self, checks)

    def augment_options(self) -> AugmentOptions:
        return AugmentOptions(self.exemplar_stretch, self.search_stretch, self.max_translate, self.flip,
                              self.grayscale, self.color_jitter)

    def record_filter(self, splits: tuple[str, ...]) -> RecordFilter:
        return RecordFilter(tuple(splits), self.skip_generated, self.skip_occluded, self.min_size, self.max_pad_z,
                            self.max_pad_x)


@dataclass(frozen=True)
class AugmentOptions:
    """Augmentation strengths (defaults live in :class:`SamplerConfig`)."""

    exemplar_stretch: float  # max relative stretch per axis of the exemplar
    search_stretch: float  # max relative stretch per axis of the search crop
    max_translate: int  # max target shift in the search crop, whole pixels per axis
    flip: float  # probability of mirroring both crops
    grayscale: float  # probability of making both crops gray
    color_jitter: float  # max relative per-channel gain change
