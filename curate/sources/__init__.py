"""Dataset sources: the one place each dataset's layout is known (see :mod:`.base` for the contract).

:data:`FORMATS` maps a ``--format`` name to its :class:`~.base.SourceFormat`, in the order of the catalogue of
formats (:data:`siamfc.curate.catalogue.FORMATS`, which the CLI's help reads without importing any source): each
source's name, title and splits are checked against the catalogue here, once, when the registry is imported.
:func:`detect_format` recognises a root's layout by itself.
"""

from __future__ import annotations

from pathlib import Path

from .. import catalogue
from ..errors import CurationError
from ..paths import check_folder
from . import coco, got10k, lasot, nfs, otb, sequences, tc128, tnl2k, trackingnet, uav, vid
from .base import SourceFormat

_SOURCES = (vid.FORMAT, got10k.FORMAT, lasot.FORMAT, trackingnet.FORMAT, coco.FORMAT, otb.FORMAT, uav.FORMAT,
            nfs.FORMAT, tc128.FORMAT, tnl2k.FORMAT, sequences.FORMAT, sequences.FORMAT_ONE_BASED)  # last: 1-based


def _registry(sources: tuple[SourceFormat, ...]) -> dict[str, SourceFormat]:
    """The sources by name, in the catalogue's order; RuntimeError (a bug) where a source and its catalogue entry
    disagree on the name, title or splits, or a format is in one and not the other."""
    by_name = {f.name: f for f in sources}
    if set(by_name) != set(catalogue.FORMATS) or len(by_name) != len(sources):
        raise RuntimeError(f"sources {sorted(by_name)} and catalogue {sorted(catalogue.FORMATS)} name other formats")
    for entry in catalogue.FORMATS.values():
        fmt = by_name[entry.name]
        if (fmt.title, tuple(fmt.splits)) != (entry.title, entry.splits):
            raise RuntimeError(f"source {fmt.name!r} ({fmt.title!r}, splits {fmt.splits}) disagrees with its catalogue "
                               f"entry ({entry.title!r}, splits {entry.splits}): curate/catalogue.py")
    return {name: by_name[name] for name in catalogue.FORMATS}


FORMATS: dict[str, SourceFormat] = _registry(_SOURCES)


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
