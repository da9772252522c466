"""Synthetic dataset trees in every layout siamfc reads, for the tests, the benchmarks and ``siamfc demo``.

The frames and their ground truth come from :mod:`.scene`; one writer per layout turns them into that dataset's
files: :mod:`.vid` (the embedded default), :mod:`.got10k`, :mod:`.lasot`, :mod:`.trackingnet`, :mod:`.coco`.
"""

from __future__ import annotations

from .vid import SynthConfig, SynthObject, generate

__all__ = ["SynthConfig", "SynthObject", "generate"]
