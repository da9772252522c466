"""Dataset sources: the one place each dataset's layout is known (see :mod:`.base` for the contract).

:data:`FORMATS` maps a ``--format`` name to its :class:`~.base.SourceFormat`; :func:`detect_format` recognises a
root's layout by itself.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CurationError
from ..paths import check_folder
from . import coco, got10k, lasot, nfs, otb, sequences, tc128, tnl2k, trackingnet, uav, vid
from .base import SourceFormat

FORMATS: dict[str, SourceFormat] = {m.FORMAT.name: m.FORMAT for m in (vid, got10k, lasot, trackingnet, coco, otb, uav,
                                                                      nfs, tc128, tnl2k, sequences)}
FORMATS[sequences.FORMAT_ONE_BASED.name] = sequences.FORMAT_ONE_BASED  # the same layout, 1-based boxes


def source_format(name: str) -> SourceFormat:
    """The format called ``name``; CurationError listing the known ones otherwise."""
    if name not in FORMATS:
        raise CurationError(f"unknown dataset format {name!r}; choose from {', '.join(FORMATS)}")
    return FORMATS[name]


def detect_format(root: str | Path) -> str:
    """The name of the one format whose layout ``root`` has; CurationError naming the root otherwise."""
    root = check_folder(root)
    matches = [f.name for f in FORMATS.values() if f.looks_like(root)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CurationError(f"{root}: looks like {' and '.join(matches)}; say which with --format")
    raise CurationError(f"{root}: not a dataset layout siamfc knows ({', '.join(FORMATS)}); see the README's "
                        "formats, or name one with --format")
