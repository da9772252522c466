"""A synthetic UAV123 tree: ``data_seq/UAV123/<folder>/000001.jpg ...``, ``anno/UAV123/`` and ``anno/UAV20L/``.

Two frame folders of :mod:`.scene` scenes (track 0 the target, boxes 1-based ``x,y,w,h`` integers of its part inside
the frame, commas, ``\\n``):

- ``synthcar1`` (role 0): the UAV123 sequence ``synthcar1`` (its own folder, every frame);
- ``synthperson1`` (role 1: the target leaves the view and comes back): the UAV20L sequence ``synthperson1`` (every
  frame) and the UAV123 sub-sequences ``synthperson1_1`` (frames ``1 .. m``) and ``synthperson1_2`` (``m .. n``, the
  boundary frame shared as in the benchmark's table); a frame where the target is not drawn has the line
  ``NaN,NaN,NaN,NaN`` (out of view). The names are not in the benchmark's table, so the source takes the
  sub-sequences' ranges by continuing from ``_1`` (and notes it).

``anno/UAV123/att/synthcar1.txt`` is an attribute file (not read). :class:`~.vid.SynthConfig` fields used: ``frames``,
``seed``, ``quality``, ``sizes``. Returns one :class:`~.truth.Truth` per frame of every sequence (the frames of
``synthperson1`` thus three times: once per sequence reading them), ids ``test/<benchmark>/<seq>``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..schema import OUT_OF_VIEW
from .sequences import Frame, empty_root, write_frames, xywh
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=0, val_snippets=2, frames=12, sizes=((320, 240), (480, 270)))
NAN = "NaN,NaN,NaN,NaN"


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write a UAV123 tree under ``root``; the truth of every sequence's frames, in id and frame order."""
    root, cfg = empty_root(root), config or DEFAULT
    rng = np.random.default_rng(cfg.seed)
    data, anno = root / "data_seq" / "UAV123", root / "anno"
    truth: list[Truth] = []
    with tqdm(total=2 * cfg.frames, disable=not progress, unit="frame", desc="synthetic UAV123") as bar:
        for g, (folder, role) in enumerate((("synthcar1", 0), ("synthperson1", 1))):
            size = cfg.sizes[g % len(cfg.sizes)]
            frames = write_frames(role, cfg.frames, size, rng, cfg.quality,
                                  lambda t, f=folder: data / f / f"{t + 1:06d}.jpg", bar)
            if role == 0:
                truth += _write(anno / "UAV123" / f"{folder}.txt", "UAV123", folder, frames, 1, size)
                continue
            middle = max(1, cfg.frames // 2)
            truth += _write(anno / "UAV20L" / f"{folder}.txt", "UAV20L", folder, frames, 1, size)
            truth += _write(anno / "UAV123" / f"{folder}_1.txt", "UAV123", f"{folder}_1", frames[:middle], 1, size)
            truth += _write(anno / "UAV123" / f"{folder}_2.txt", "UAV123", f"{folder}_2", frames[middle - 1:],
                            middle, size)
    (anno / "UAV123" / "att").mkdir(parents=True)
    (anno / "UAV123" / "att" / "synthcar1.txt").write_text("0,0,0,1,0,0,0,0,0,0,0,0\n")
    return sorted(truth, key=lambda o: (o.snippet, o.frame))


def _write(path: Path, benchmark: str, name: str, frames: list[Frame], first: int,
           size: tuple[int, int]) -> list[Truth]:
    """Write one box file for ``frames`` (frame numbers from ``first``); their truth."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines, truth = [], []
    for k, (file, target, _) in enumerate(frames):
        lines.append(",".join(map(str, xywh(target.box, one_based=True))) if target.visible else NAN)
        truth.append(Truth(f"test/{benchmark}/{name}", first + k, 0, "", tuple(float(v) for v in target.box),  # type: ignore[arg-type]
                           *size, file, visible=target.visible, flags=0 if target.visible else OUT_OF_VIEW))
    path.write_text("".join(f"{line}\n" for line in lines))
    return truth
