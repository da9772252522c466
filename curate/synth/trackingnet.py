"""A synthetic TrackingNet tree: placeholder until the writer lands."""

from __future__ import annotations

from pathlib import Path

from .truth import Truth
from .vid import SynthConfig


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    raise NotImplementedError("trackingnet")
