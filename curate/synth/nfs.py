"""A synthetic NfS tree: ``<root>/<seq>/240/<seq>/00001.jpg ...`` with ``<seq>/240/<seq>.txt``, and the same video
subsampled in ``<seq>/30/``.

Each video is one :mod:`.scene` scene rendered at "240 fps" (track 0 the target). Its ``240/<seq>.txt`` has one
VATIC line per frame, space separated: ``1 xmin ymin xmax ymax frame lost occluded generated "label"`` with
``xmax = xmin + w`` (the box's far edge, NfS's convention, 0-based), ``frame`` counted from 0, ``lost`` 1 where the
target is not drawn (the line then repeats the last drawn box, VATIC's placeholder), ``occluded`` 1 where the scene
covers the target, ``generated`` 0, the label the target's class name (spaces as ``_``). The ``30/`` folder holds
every 8th frame (240 fps frame ``8(k - 1) + 1`` is 30 fps frame ``k``) and ``30/<seq>.txt`` is the 240 fps file
itself, as in the real dataset.

Videos: ``synth_cross`` (role 2: the target is occluded by a crossing shape), :data:`DEFAULT` 24 frames at 240 fps, 3
at 30 fps; ``synth_leave`` (role 1: the target leaves the view) one frame longer, so that its subsampled annotation has
one line more than its 30 fps folder has frames (the toolkit drops that line). :class:`~.vid.SynthConfig` fields
used: ``frames`` (240 fps frames of the first video), ``seed``, ``quality``, ``sizes``. Returns one
:class:`~.truth.Truth` per frame of each rate, ids ``test/240/<seq>`` and ``test/30/<seq>``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..schema import OUT_OF_VIEW
from ..sources.nfs import SUBSAMPLE
from .sequences import empty_root, write_frames
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=0, val_snippets=2, frames=24, sizes=((320, 240), (480, 270)))
PLAN = (("synth_cross", 2, 0), ("synth_leave", 1, 1))  # name, scene role, frames more than config.frames


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write an NfS tree under ``root``; the truth of every frame at both rates, in id and frame order."""
    root, cfg = empty_root(root), config or DEFAULT
    rng = np.random.default_rng(cfg.seed)
    truth: list[Truth] = []
    with tqdm(total=sum(cfg.frames + more for *_, more in PLAN), disable=not progress, unit="frame",
              desc="synthetic NfS") as bar:
        for g, (name, role, more) in enumerate(PLAN):
            size = cfg.sizes[g % len(cfg.sizes)]
            fast = root / name / "240" / name
            frames = write_frames(role, cfg.frames + more, size, rng, cfg.quality,
                                  lambda t, f=fast: f / f"{t + 1:05d}.jpg", bar)
            label = frames[0][1].label.replace(" ", "_")
            lines, last = [], None
            rows = []  # (box xyxy, visible, occluded) per 240 fps frame
            for t, (_, target, _) in enumerate(frames):
                if target.visible:
                    last = target.box
                box = last if last is not None else target.full
                xmin, ymin, xmax, ymax = box
                lines.append(f"1 {xmin} {ymin} {xmax + 1} {ymax + 1} {t} {int(not target.visible)} "
                             f"{target.occluded} 0 \"{label}\"")
                rows.append((target.box, target.visible, target.occluded))
            text = "".join(f"{line}\n" for line in lines)
            (root / name / "240" / f"{name}.txt").write_text(text)
            (root / name / "30" / f"{name}.txt").parent.mkdir(parents=True)
            (root / name / "30" / f"{name}.txt").write_text(text)
            slow = root / name / "30" / name
            slow.mkdir()
            picked = list(range(0, len(frames), SUBSAMPLE))
            if len(picked) * SUBSAMPLE > len(frames) - 1 and more:
                picked = picked[:-1]  # one subsampled line more than 30 fps frames: the toolkit trims it
            for k, t in enumerate(picked):
                shutil.copyfile(frames[t][0], slow / f"{k + 1:05d}.jpg")
            for rate, chosen, folder in (("240", range(len(frames)), fast), ("30", picked, slow)):
                for k, t in enumerate(chosen):
                    box, visible, occluded = rows[t]
                    truth.append(Truth(f"test/{rate}/{name}", k + 1, 0, label, tuple(float(v) for v in box),  # type: ignore[arg-type]
                                       *size, folder / f"{k + 1:05d}.jpg", visible=visible,
                                       flags=0 if visible else OUT_OF_VIEW, occluded=occluded if visible else 0))
    return sorted(truth, key=lambda o: (o.snippet, o.frame))
