"""A synthetic GOT-10k tree: ``train/`` and ``val/`` sequence folders written as GOT-10k writes them.

Each sequence is one :mod:`.scene` scene; its track 0 is the target (GOT-10k annotates one object; the other
tracks of roles 2 and 3 are unannotated distractors). Sequence ``g`` (train first, then val) plays role ``g % 4``,
so the default tree has a target that leaves the view (role 1) and one crossed by a distractor (role 2);
:data:`DEFAULT` makes 3 train and 2 val sequences of 12 frames, one of them (the role-1 one) 1920x1080.

Per sequence folder (``GOT-10k_Train_000001``, ``GOT-10k_Val_000001``, ...): frames ``00000001.jpg`` ... (numbered
from 1); ``groundtruth.txt`` with one ``x,y,w,h`` line per frame, 4 decimals (``64.0000,48.0000,40.0000,32.0000``),
0-based, the box of the part of the target inside the frame (the scene's clipped box; see the source's docstring);
``absence.label`` 1 where the target is wholly out of the frame (its box line then ``0.0000,0.0000,0.0000,0.0000``,
GOT-10k's placeholder); ``cover.label`` the visible-ratio class of the scene's ``cover`` fraction in GOT-10k's
documented bins (0: 0 %, 1: (0, 15 %], 2: (15, 30 %], ... 6: (75, 90 %], 7: (90, 100 %), 8: 100 %), 0 where the scene
does not draw the target (less than a quarter of it in the frame; the box line is then its clipped box); and
``cut_by_image.label`` 1 where the frame's edge cuts the box. ``meta_info.ini`` follows the dataset's own files line
for line (``[METAINFO]``, then url, begin, end, anno_fps, object_class, motion_class, major_class, root_class,
motion_adverb, resolution: pytracking reads ``object_class`` as line 6); the class is the scene's readable class
name. Each split has a ``list.txt``. Every file ends lines with ``\\n``.

SynthConfig fields: ``train_snippets`` train sequences, ``val_snippets`` val sequences (GOT-10k's test split, which
annotates one frame, is not written), ``frames`` frames per sequence, ``seed``, ``quality`` (JPEG quality) and
``sizes`` (w, h) cycled over the sequences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..schema import ABSENT, NO_COVER
from .scene import SceneObject, encode_jpeg, render
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=3, val_snippets=2, frames=12,
                      sizes=((480, 360), (1920, 1080), (480, 360), (640, 480), (480, 360)))
COVER_BINS = (0.15, 0.30, 0.45, 0.60, 0.75, 0.90)  # upper ends of cover classes 1..6 (7: below 100 %, 8: 100 %)
MOTION = ("shrinking", "leaving", "crossing", "wandering")  # motion_class per scene role
PLACEHOLDER = "0.0000,0.0000,0.0000,0.0000"  # the box line of a frame where the target is absent


def cover_class(fraction: float) -> int:
    """GOT-10k's visible-ratio class 0..8 of a visible fraction."""
    if fraction <= 0:
        return 0
    if fraction >= 1:
        return 8
    return 1 + sum(fraction > upper for upper in COVER_BINS)


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write a GOT-10k tree under ``root`` (``root/train``, ``root/val``) and return every annotated target in
    sequence/frame order. Raises FileExistsError if ``root/train`` or ``root/val`` exists."""
    root, config = Path(root), config or DEFAULT
    for split in ("train", "val"):
        if (root / split).exists():
            raise FileExistsError(f"{root / split} already exists; generate into an empty root")
    rng = np.random.default_rng(config.seed)
    plan = [("train", f"GOT-10k_Train_{i + 1:06d}") for i in range(config.train_snippets)]
    plan += [("val", f"GOT-10k_Val_{i + 1:06d}") for i in range(config.val_snippets)]
    truth: list[Truth] = []
    with tqdm(total=len(plan) * config.frames, disable=not progress, unit="frame", desc="synthetic GOT-10k") as bar:
        for g, (split, name) in enumerate(plan):
            w, h = config.sizes[g % len(config.sizes)]
            folder = root / split / name
            folder.mkdir(parents=True)
            targets = []
            for t, (image, scene) in enumerate(render(g, config.frames, w, h, rng)):
                path = folder / f"{t + 1:08d}.jpg"
                path.write_bytes(encode_jpeg(image, config.quality))
                targets.append((path, scene[0]))
                bar.update()
            cls = targets[0][1].label
            truth += _write_sequence(folder, f"{split}/{name}", targets, cls, g, (w, h))
    for split in ("train", "val"):
        names = [name for s, name in plan if s == split]
        if names:
            (root / split / "list.txt").write_text("".join(f"{name}\n" for name in names))
    return truth


def _write_sequence(folder: Path, snippet: str, targets: list[tuple[Path, SceneObject]], cls: str, g: int,
                    size: tuple[int, int]) -> list[Truth]:
    """The annotation files of one sequence; the truth of each of its frames."""
    gt, absence, cover, cut, truth = [], [], [], [], []
    for t, (path, o) in enumerate(targets):
        xmin, ymin, xmax, ymax = o.box
        absent = xmax < xmin or ymax < ymin  # wholly out of the frame: nothing of it to box
        level = cover_class(o.cover) if o.visible else 0
        gt.append(PLACEHOLDER if absent else ",".join(f"{v:.4f}" for v in (xmin, ymin, xmax - xmin + 1,
                                                                             ymax - ymin + 1)))
        absence.append(int(absent))
        cover.append(level)
        cut.append(int(o.cut and not absent))
        flags = ABSENT * absent | NO_COVER * (level == 0)
        truth.append(Truth(snippet, t + 1, 0, cls, tuple(float(v) for v in o.box), *size, path,  # type: ignore[arg-type]
                           visible=not flags, flags=flags, cover=level, cut=cut[-1]))
    for name, values in (("groundtruth.txt", gt), ("absence.label", absence), ("cover.label", cover),
                         ("cut_by_image.label", cut)):
        (folder / name).write_text("".join(f"{v}\n" for v in values))
    (folder / "meta_info.ini").write_text(_meta_info(g, len(targets), cls, size))
    return truth


def _meta_info(g: int, frames: int, cls: str, size: tuple[int, int]) -> str:
    """``meta_info.ini`` in the dataset's layout (the values other than class and resolution are made up)."""
    begin = 1 + 7 * g
    lines = [
        "[METAINFO]",
        f"url: https://youtu.be/synth{g:06d}",
        f"begin: 00:{begin // 60:02d}:{begin % 60:02d}",
        f"end: 00:{(begin + frames // 10 + 1) // 60:02d}:{(begin + frames // 10 + 1) % 60:02d}",
        "anno_fps: 10Hz",
        f"object_class: {cls}",
        f"motion_class: {MOTION[g % len(MOTION)]}",
        "major_class: synthetic shape",
        "root_class: object",
        "motion_adverb: slowly",
        f"resolution: ({size[0]}, {size[1]})",
    ]
    return "".join(f"{line}\n" for line in lines)
