"""A synthetic TNL2K tree: ``TNL2K_test_subset/<seq>/`` and ``TNL2K_train_subset/<seq>/`` video folders.

Each video holds ``imgs/00001.jpg ...`` (frames of a :mod:`.scene` scene, track 0 the target), ``groundtruth.txt``
(one 1-based ``x,y,w,h`` line per frame, integers, commas, ``\\n``; ``0,0,0,0`` where the target is not drawn, as
TNL2K marks a frame without the target) and ``language.txt`` (a sentence, not read). Videos: ``val_snippets`` test
videos then ``train_snippets`` training videos, video ``g`` playing role ``(1, 0, 2, 3)[g % 4]`` (the first test video's
target leaves the view). :class:`~.vid.SynthConfig` fields: those counts, ``frames``, ``seed``, ``quality``,
``sizes``. Returns one :class:`~.truth.Truth` per frame, ids ``<split>/<seq>``, hidden frames flagged
:data:`~siamfc.curate.schema.ABSENT`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..schema import ABSENT
from .sequences import empty_root, write_frames, xywh
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=1, val_snippets=2, frames=10, sizes=((320, 240), (480, 270), (240, 180)))
ROLES = (1, 0, 2, 3)
NAMES = ("Bird_video_01-Done", "Plane_video_02", "CM_redcar_done", "INF_walking")
SENTENCES = ("the {} moving in the scene", "track the {} on the left")


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write a TNL2K tree under ``root``; every frame's truth (hidden ones included), in id and frame order."""
    root, cfg = empty_root(root), config or DEFAULT
    rng = np.random.default_rng(cfg.seed)
    plan = [("test", "TNL2K_test_subset")] * cfg.val_snippets + [("train", "TNL2K_train_subset")] * cfg.train_snippets
    truth: list[Truth] = []
    with tqdm(total=len(plan) * cfg.frames, disable=not progress, unit="frame", desc="synthetic TNL2K") as bar:
        for g, (split, subset) in enumerate(plan):
            name = f"{NAMES[g % len(NAMES)]}{'' if g < len(NAMES) else g}"
            folder = root / subset / name
            size = cfg.sizes[g % len(cfg.sizes)]
            frames = write_frames(ROLES[g % len(ROLES)], cfg.frames, size, rng, cfg.quality,
                                  lambda t, f=folder: f / "imgs" / f"{t + 1:05d}.jpg", bar)
            lines = []
            for t, (path, target, _) in enumerate(frames):
                lines.append(",".join(map(str, xywh(target.box, one_based=True))) if target.visible else "0,0,0,0")
                truth.append(Truth(f"{split}/{name}", t + 1, 0, "", tuple(float(v) for v in target.box),  # type: ignore[arg-type]
                                   *size, path, visible=target.visible, flags=0 if target.visible else ABSENT))
            (folder / "groundtruth.txt").write_text("".join(f"{line}\n" for line in lines))
            (folder / "language.txt").write_text(SENTENCES[g % len(SENTENCES)].format(frames[0][1].label) + "\n")
    return sorted(truth, key=lambda o: (o.snippet, o.frame))
