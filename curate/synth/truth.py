"""What a synthetic tree of any layout holds, in the terms the curation must store it: the tests' ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..schema import COVER_UNKNOWN


@dataclass(frozen=True)
class Truth:
    """One annotated object in one frame, as a curation of the tree must record it."""

    snippet: str  # the id the curation gives the sequence (``<split>/<name>``)
    frame: int  # the frame number of the record key
    track: int
    cls: str  # the class name the curation stores ("" when the dataset has none)
    box: tuple[float, float, float, float]  # ``xyxy`` 0-based inclusive, as the manifest must hold it
    width: int  # frame size
    height: int
    path: Path  # the image file
    visible: bool = True  # False: not cropped; listed in the manifest's hidden table with ``flags``
    flags: int = 0  # visibility flags (siamfc.curate.schema.ABSENT, ...) of an object that is not visible
    occluded: int = 0
    generated: int = 0
    cover: int = COVER_UNKNOWN
    cut: int = 0
