"""GOT-10k (``--format got10k``): placeholder until the source lands."""

from __future__ import annotations

from pathlib import Path

from ..errors import CurationError
from .base import SequenceSearch, SourceFormat


def looks_like(root: Path) -> bool:
    return False


def search(root: Path, splits: tuple[str, ...]) -> SequenceSearch:
    raise CurationError(f"{root}: GOT-10k is not readable yet")


FORMAT = SourceFormat(name="got10k", title="GOT-10k", splits=("train",), looks_like=looks_like, search=search)
