"""LaSOT (``--format lasot``): placeholder until the source lands."""

from __future__ import annotations

from pathlib import Path

from ..errors import CurationError
from .base import SequenceSearch, SourceFormat


def looks_like(root: Path) -> bool:
    return False


def search(root: Path, splits: tuple[str, ...]) -> SequenceSearch:
    raise CurationError(f"{root}: LaSOT is not readable yet")


FORMAT = SourceFormat(name="lasot", title="LaSOT", splits=("train",), looks_like=looks_like, search=search)
