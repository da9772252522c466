"""A synthetic OTB tree with OTB's quirks: ``<root>/<seq>/img/0001.jpg ...`` and ``groundtruth_rect*.txt``.

Sequences (each one :mod:`.scene` scene, boxes 1-based ``x,y,w,h`` integers of the part of the target inside the
frame; OTB annotates every frame, so the scenes are of roles whose target never leaves the view):

- ``Basketball`` (role 0): ``groundtruth_rect.txt``, commas, ``\\n``;
- ``Jogging`` (role 3, two targets): ``groundtruth_rect.1.txt`` (track 0, tab-separated) and
  ``groundtruth_rect.2.txt`` (track 1, space-separated, CRLF line ends): the sequences ``Jogging.1`` and ``Jogging.2``;
- ``Human4`` (role 2): an empty ``groundtruth_rect.1.txt`` and ``groundtruth_rect.2.txt`` for track 0: one sequence,
  ``Human4``;
- ``Football1`` (role 2): OTB annotates images 1-74 only; the folder holds two images more, which have no box.

:class:`~.vid.SynthConfig` fields used: ``frames`` (images per sequence but Football1's 76), ``seed``, ``quality``,
``sizes`` (cycled); the sequence counts are not (the set of quirks is fixed). Returns one
:class:`~.truth.Truth` per annotated frame, ids ``test/<name>``, track 0 (the box file's target).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..sources.otb import FRAME_RANGES
from .sequences import empty_root, write_frames, xywh
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=0, val_snippets=4, frames=10, sizes=((320, 240), (240, 180)))
FOOTBALL1_IMAGES = FRAME_RANGES["football1"][1] + 2  # images in the folder; the box file covers the range only
# name, role, [(box file, track, separator, line end)], images (None: config.frames)
PLAN = (
    ("Basketball", 0, [("groundtruth_rect.txt", 0, ",", "\n")], None),
    ("Football1", 2, [("groundtruth_rect.txt", 0, ",", "\n")], FOOTBALL1_IMAGES),
    ("Human4", 2, [("groundtruth_rect.2.txt", 0, ",", "\n")], None),
    ("Jogging", 3, [("groundtruth_rect.1.txt", 0, "\t", "\n"), ("groundtruth_rect.2.txt", 1, " ", "\r\n")], None),
)


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write an OTB tree under ``root``; every annotated frame's truth, in id and frame order."""
    root, cfg = empty_root(root), config or DEFAULT
    rng = np.random.default_rng(cfg.seed)
    total = sum(n or cfg.frames for *_, n in PLAN)
    truth: list[Truth] = []
    with tqdm(total=total, disable=not progress, unit="frame", desc="synthetic OTB") as bar:
        for g, (name, role, files, images) in enumerate(PLAN):
            folder = root / name
            size = cfg.sizes[g % len(cfg.sizes)]
            frames = write_frames(role, images or cfg.frames, size, rng, cfg.quality,
                                  lambda t, f=folder: f / "img" / f"{t + 1:04d}.jpg", bar)
            _, end = FRAME_RANGES.get(name.lower(), (1, len(frames)))
            for box_file, track, sep, eol in files:
                seq = f"{name}.{box_file.split('.')[1]}" if len(files) > 1 else name
                lines = []
                for t, (path, _, scene) in enumerate(frames[:end]):
                    box = scene[track].box
                    lines.append(sep.join(map(str, xywh(box, one_based=True))))
                    truth.append(Truth(f"test/{seq}", t + 1, 0, "", tuple(float(v) for v in box), *size, path))  # type: ignore[arg-type]
                (folder / box_file).write_bytes("".join(line + eol for line in lines).encode())
            if name == "Human4":
                (folder / "groundtruth_rect.1.txt").write_text("")  # OTB's empty file: no target
    return sorted(truth, key=lambda o: (o.snippet, o.frame))
