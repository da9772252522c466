"""COCO 2017 (``--format coco``): placeholder until the source lands."""

from __future__ import annotations

from pathlib import Path

from ..errors import CurationError
from .base import SequenceSearch, SourceFormat


def looks_like(root: Path) -> bool:
    return False


def search(root: Path, splits: tuple[str, ...]) -> SequenceSearch:
    raise CurationError(f"{root}: COCO 2017 is not readable yet")


FORMAT = SourceFormat(name="coco", title="COCO 2017", splits=("train",), looks_like=looks_like, search=search)
