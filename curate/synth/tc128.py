"""A synthetic Temple Color 128 tree: ``<root>/<seq>/img/0001.jpg ...``, ``<name>_gt.txt`` and ``<name>_frames.txt``.

Sequences (:mod:`.scene` scenes whose target stays in view, track 0 the target; boxes 1-based ``x,y,w,h`` integers,
commas, ``\\n``; the range file one line ``start,end``):

- ``Airport_ce`` (role 0): images 1..n, range ``1,n``;
- ``Yo_yos_ce1`` (role 2): the files are ``Yo-yos_ce1_gt.txt`` and ``Yo-yos_ce1_frames.txt`` (a name other than the
  folder's, as in TC128), images 1..n+2 and range ``3,n+2``: the first two images are outside the range.

:class:`~.vid.SynthConfig` fields used: ``frames`` (annotated frames per sequence), ``seed``, ``quality``, ``sizes``.
Returns one :class:`~.truth.Truth` per annotated frame, ids ``test/<folder>``, frame numbers the image numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from .sequences import empty_root, write_frames, xywh
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=0, val_snippets=2, frames=10, sizes=((320, 240), (240, 180)))
PLAN = (("Airport_ce", "Airport_ce", 0, 1), ("Yo_yos_ce1", "Yo-yos_ce1", 2, 3))  # folder, file name, role, start


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write a TC128 tree under ``root``; every annotated frame's truth, in id and frame order."""
    root, cfg = empty_root(root), config or DEFAULT
    rng = np.random.default_rng(cfg.seed)
    truth: list[Truth] = []
    with tqdm(total=sum(cfg.frames + start - 1 for *_, start in PLAN), disable=not progress, unit="frame",
              desc="synthetic TC128") as bar:
        for g, (folder, name, role, start) in enumerate(PLAN):
            size = cfg.sizes[g % len(cfg.sizes)]
            frames = write_frames(role, cfg.frames + start - 1, size, rng, cfg.quality,
                                  lambda t, f=folder: root / f / "img" / f"{t + 1:04d}.jpg", bar)
            lines = []
            for t, (path, target, _) in enumerate(frames[start - 1:]):
                lines.append(",".join(map(str, xywh(target.box, one_based=True))))
                truth.append(Truth(f"test/{folder}", start + t, 0, "", tuple(float(v) for v in target.box),  # type: ignore[arg-type]
                                   *size, path))
            (root / folder / f"{name}_gt.txt").write_text("".join(f"{line}\n" for line in lines))
            (root / folder / f"{name}_frames.txt").write_text(f"{start},{start + len(lines) - 1}\n")
    return sorted(truth, key=lambda o: (o.snippet, o.frame))
