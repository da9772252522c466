"""A synthetic LaSOT tree: ``<root>/<class>/<class>-<n>/`` videos and the toolkit's ``testing_set.txt``.

Each video holds ``img/00000001.jpg ...`` (frames of :mod:`.scene`, track 0 is the target), ``groundtruth.txt``
(``x,y,w,h`` 1-based integers, one line per frame, ``\\n`` line ends), ``full_occlusion.txt`` and ``out_of_view.txt``
(one line of comma-separated 0/1, no line end) and ``nlp.txt`` (a sentence), as LaSOT writes them.

:class:`~.vid.SynthConfig` is read as: ``train_snippets`` training videos, then ``val_snippets`` test videos (named in
``testing_set.txt``), ``frames`` frames each, ``seed``, JPEG ``quality``, ``sizes`` cycled over the videos. The
default (:data:`DEFAULT`) is 3 training and 2 test videos of 12 frames, one of them 1920x1080.

Visibility, from the scene: a frame where the target is not drawn (it left the view, role 1) is ``out_of_view``; a
frame where the target is drawn but a later-drawn shape covers it below :data:`OCCLUDED_COVER` of its box (and the
frame's edge does not cut it) is ``full_occlusion`` (LaSOT's annotators would call a heavier cover full). The first
out-of-view frame of a video is marked fully occluded too, so both flags meet once. A visible frame's box is the
drawn shape's part inside the frame; a hidden frame's box line is a placeholder (``0,0,0,0`` out of view, the
shape's whole box when occluded), as LaSOT's boxes of hidden frames mean nothing.

Videos: training ones play roles 0, 1, 2, 3, 0, ...; test ones roles 1, 2, 1, ... (both kinds of hidden frames in the
benchmark split). Classes cycle over :data:`CLASSES`, numbered per class like LaSOT's (``airplane-1``, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..schema import FULL_OCCLUSION, OUT_OF_VIEW
from ..sources.lasot import TESTING_SET
from .scene import encode_jpeg, render
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=3, val_snippets=2, frames=12,
                      sizes=((480, 360), (640, 360), (480, 360), (1920, 1080), (320, 240)))
CLASSES = ("airplane", "rubicCube", "bear", "airplane", "cat")  # one class twice: numbered 1, 2 ...
OCCLUDED_COVER = 0.9  # a visible, uncut target covered below this fraction of its box is marked fully occluded
TRAIN_ROLES, TEST_ROLES = (0, 1, 2, 3), (1, 2)
SENTENCES = ("{} moving across the scene", "striped {} drifting slowly", "{} passing behind another object")


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write a LaSOT tree under ``root`` and return every annotated frame of every video (visible or not), in
    video and frame order. Raises FileExistsError if ``root`` exists and is not empty."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} already exists and is not empty; generate into an empty root")
    config = config or DEFAULT
    rng = np.random.default_rng(config.seed)
    plan = _plan(config)
    truth: list[Truth] = []
    with tqdm(total=sum(config.frames for _ in plan), disable=not progress, unit="frame",
              desc="synthetic LaSOT") as bar:
        for g, (split, cls, name, role, (w, h)) in enumerate(plan):
            folder = root / cls / name
            (folder / "img").mkdir(parents=True)
            boxes, occluded, out = [], [], []
            for t, (image, scene) in enumerate(render(role, config.frames, w, h, rng)):
                target = scene[0]
                path = folder / "img" / f"{t + 1:08d}.jpg"
                path.write_bytes(encode_jpeg(image, config.quality))
                hidden_cover = target.visible and not target.cut and target.cover < OCCLUDED_COVER
                first_out = not target.visible and all(o == 0 for o in out)
                flags = (FULL_OCCLUSION * (hidden_cover or first_out)) | (OUT_OF_VIEW * (not target.visible))
                occluded.append(int(bool(flags & FULL_OCCLUSION)))
                out.append(int(bool(flags & OUT_OF_VIEW)))
                box = target.box if flags == 0 else (target.full if target.visible else None)
                boxes.append(_xywh(box))
                truth.append(Truth(f"{split}/{cls}/{name}", t + 1, 0, cls,
                                   tuple(float(v) for v in target.box), w, h, path, visible=flags == 0,
                                   flags=flags))
                bar.update()
            (folder / "groundtruth.txt").write_text("".join(f"{x},{y},{bw},{bh}\n" for x, y, bw, bh in boxes))
            (folder / "full_occlusion.txt").write_text(",".join(map(str, occluded)))
            (folder / "out_of_view.txt").write_text(",".join(map(str, out)))
            (folder / "nlp.txt").write_text(SENTENCES[g % len(SENTENCES)].format(cls) + "\n")
    (root / TESTING_SET).write_text("".join(f"{name}\n" for split, _, name, _, _ in plan if split == "test"))
    return truth


def _plan(cfg: SynthConfig) -> list[tuple[str, str, str, int, tuple[int, int]]]:
    """(split, class, video name, scene role, (w, h)) per video; training videos first."""
    plan, numbers = [], {}
    for g in range(cfg.train_snippets + cfg.val_snippets):
        test = g >= cfg.train_snippets
        cls = CLASSES[g % len(CLASSES)]
        numbers[cls] = numbers.get(cls, 0) + 1
        role = TEST_ROLES[(g - cfg.train_snippets) % len(TEST_ROLES)] if test else TRAIN_ROLES[g % len(TRAIN_ROLES)]
        plan.append(("test" if test else "train", cls, f"{cls}-{numbers[cls]}", role, cfg.sizes[g % len(cfg.sizes)]))
    return plan


def _xywh(box: tuple[int, int, int, int] | None) -> tuple[int, int, int, int]:
    """LaSOT's 1-based ``x, y, w, h`` of an inclusive 0-based box (None: the ``0,0,0,0`` placeholder)."""
    if box is None:
        return 0, 0, 0, 0
    xmin, ymin, xmax, ymax = box
    return xmin + 1, ymin + 1, xmax - xmin + 1, ymax - ymin + 1
