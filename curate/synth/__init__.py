"""Synthetic dataset trees in every layout siamfc reads, for the tests, the benchmarks and ``siamfc demo``.

The frames and their ground truth come from :mod:`.scene`; one writer per layout turns them into that dataset's
files: :mod:`.vid` (the embedded default), :mod:`.got10k`, :mod:`.lasot`, :mod:`.trackingnet`, :mod:`.coco`, and the
benchmarks :mod:`.otb`, :mod:`.uav`, :mod:`.nfs`, :mod:`.tc128`, :mod:`.tnl2k` and your own :mod:`.sequences`. Each
writer takes a :class:`SynthConfig` (None: its own default) and returns what it wrote as :class:`~.truth.Truth`
objects (VID: :class:`SynthObject`).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType, SimpleNamespace

from . import coco, got10k, lasot, nfs, otb, sequences, tc128, tnl2k, trackingnet, uav, vid
from .truth import Truth
from .vid import SynthConfig, SynthObject, generate

WRITERS: dict[str, ModuleType | SimpleNamespace] = {  # each with generate(root, config, progress) and DEFAULT
    "vid": vid, "got10k": got10k, "lasot": lasot, "trackingnet": trackingnet, "coco": coco, "otb": otb, "uav": uav,
    "nfs": nfs, "tc128": tc128, "tnl2k": tnl2k, "sequences": sequences, "sequences1": sequences.ONE_BASED_WRITER}


def default_config(fmt: str) -> SynthConfig:
    """The tree layout ``fmt``'s writer makes when given no config."""
    return WRITERS[fmt].DEFAULT


def generate_format(root: str | Path, fmt: str, config: SynthConfig | None = None,
                    progress: bool = False) -> list[SynthObject] | list[Truth]:
    """Write a synthetic tree of layout ``fmt`` under ``root`` (``config`` default: :func:`default_config`);
    returns what it holds."""
    return WRITERS[fmt].generate(root, config or default_config(fmt), progress)


__all__ = ["WRITERS", "SynthConfig", "SynthObject", "Truth", "default_config", "generate", "generate_format"]
