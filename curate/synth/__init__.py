"""Synthetic dataset trees in every layout siamfc reads, for the tests, the benchmarks and ``siamfc demo``.

The frames and their ground truth come from :mod:`.scene`; one writer per layout turns them into that dataset's
files: :mod:`.vid` (the embedded default), :mod:`.got10k`, :mod:`.lasot`, :mod:`.trackingnet`, :mod:`.coco`. Each
writer takes a :class:`SynthConfig` (None: its own default) and returns what it wrote as :class:`~.truth.Truth`
objects (VID: :class:`SynthObject`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import coco, got10k, lasot, trackingnet, vid
from .truth import Truth
from .vid import SynthConfig, SynthObject, generate

WRITERS: dict[str, Callable[..., list]] = {"vid": vid.generate, "got10k": got10k.generate, "lasot": lasot.generate,
                                           "trackingnet": trackingnet.generate, "coco": coco.generate}


def generate_format(root: str | Path, fmt: str, config: SynthConfig | None = None,
                    progress: bool = False) -> list[SynthObject] | list[Truth]:
    """Write a synthetic tree of layout ``fmt`` under ``root``; returns what it holds."""
    if fmt == "vid":
        return vid.generate(root, config or SynthConfig(), progress)
    return WRITERS[fmt](root, config, progress)


__all__ = ["WRITERS", "SynthConfig", "SynthObject", "Truth", "generate", "generate_format"]
