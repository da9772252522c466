"""A synthetic ImageNet VID (ILSVRC2015) tree: the embedded default dataset.

Writes the real layout and per-frame XML (see ``shared/vid-format.md``) with the frames of :mod:`.scene`.
Snippet ``g`` (train first, then val) plays role ``g % 4``, so the default config has every role; a track is
annotated in the frames where it is visible (drawn), with its clipped box.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..sources.vid_classes import WNIDS
from .scene import Box, encode_jpeg, render

Planned = tuple[str, str, int, tuple[int, int]]  # split, path under the split, frames, (w, h)


@dataclass(frozen=True)
class SynthConfig:
    """What to generate: snippet counts, frames per snippet, seed, JPEG quality, frame sizes."""

    train_snippets: int = 4  # spread over ILSVRC2015_VID_train_0000 and _0001
    val_snippets: int = 2
    frames: int = 24  # frames per snippet; odd snippets get 4 fewer (at least 1)
    seed: int = 0
    quality: int = 90  # JPEG quality of the frames
    sizes: tuple[tuple[int, int], ...] = ((1280, 720), (640, 360), (480, 360), (500, 375))  # (w, h), cycled


@dataclass
class SynthObject:
    """Ground truth of one object in one frame, exactly as written to the XML."""

    snippet: str  # e.g. "train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000"
    frame: int
    track: int
    wnid: str
    box: Box  # as written in the XML: the visible part, clipped to the frame
    occluded: int
    generated: int
    width: int
    height: int


DEFAULT = SynthConfig()


def generate(root: str | Path, config: SynthConfig = DEFAULT, progress: bool = False) -> list[SynthObject]:
    """Write an ILSVRC2015-layout tree under root (root/Data, root/Annotations, root/ImageSets) and return
    every object written, in snippet/frame/track order. Raises FileExistsError if root/Data/VID exists."""
    root = Path(root)
    if (root / "Data" / "VID").exists():
        raise FileExistsError(f"{root / 'Data' / 'VID'} already exists; generate into an empty root")
    rng = np.random.default_rng(config.seed)
    plan = _plan(config)
    objects: list[SynthObject] = []
    with tqdm(total=sum(p[2] for p in plan), disable=not progress, unit="frame", desc="synthetic VID") as bar:
        for g, (split, rel, n, (w, h)) in enumerate(plan):
            snippet = f"{split}/{rel}"
            data_dir, ann_dir = (root / top / "VID" / split / rel for top in ("Data", "Annotations"))
            data_dir.mkdir(parents=True)
            ann_dir.mkdir(parents=True)
            for t, (image, scene) in enumerate(render(g, n, w, h, rng)):
                written = [SynthObject(snippet, t, o.track, o.wnid, o.box, o.occluded, o.generated, w, h)
                           for o in scene if o.visible]
                (data_dir / f"{t:06d}.JPEG").write_bytes(encode_jpeg(image, config.quality))
                (ann_dir / f"{t:06d}.xml").write_text(_xml(rel, t, w, h, written))
                objects += written
                bar.update()
    _write_imagesets(root, plan, objects)
    return objects


def _plan(cfg: SynthConfig) -> list[Planned]:
    """(split, path under the split, frame count, (w, h)) per snippet; train first, then val.

    Train snippets are named like the real ones, ``ILSVRC2015_train_<video %05d><part %03d>``."""
    half = -(-cfg.train_snippets // 2)
    rels = [
        f"ILSVRC2015_VID_train_{int(i >= half):04d}/ILSVRC2015_train_{i // 2:05d}{i % 2:03d}"
        for i in range(cfg.train_snippets)
    ] + [f"ILSVRC2015_val_{i:08d}" for i in range(cfg.val_snippets)]
    return [
        (
            "train" if g < cfg.train_snippets else "val",
            rel,
            max(1, cfg.frames - 4 * (g % 2)),
            cfg.sizes[g % len(cfg.sizes)],
        )
        for g, rel in enumerate(rels)
    ]


def _xml(folder: str, frame: int, w: int, h: int, objects: list[SynthObject]) -> str:
    """One frame's annotation, tab-indented like the real files."""
    lines = ["<annotation>", f"\t<folder>{folder}</folder>", f"\t<filename>{frame:06d}</filename>"]
    lines += ["\t<source>", "\t\t<database>ILSVRC_2015</database>", "\t</source>"]
    lines += ["\t<size>", f"\t\t<width>{w}</width>", f"\t\t<height>{h}</height>", "\t</size>"]
    for o in objects:
        xmin, ymin, xmax, ymax = o.box
        lines += ["\t<object>", f"\t\t<trackid>{o.track}</trackid>", f"\t\t<name>{o.wnid}</name>"]
        lines += ["\t\t<bndbox>", f"\t\t\t<xmax>{xmax}</xmax>", f"\t\t\t<xmin>{xmin}</xmin>"]
        lines += [f"\t\t\t<ymax>{ymax}</ymax>", f"\t\t\t<ymin>{ymin}</ymin>", "\t\t</bndbox>"]
        lines += [f"\t\t<occluded>{o.occluded}</occluded>", f"\t\t<generated>{o.generated}</generated>"]
        lines += ["\t</object>"]
    return "\n".join([*lines, "</annotation>"]) + "\n"


def _write_imagesets(root: Path, plan: list[Planned], objects: list[SynthObject]) -> None:
    """ImageSets/VID/train_1..30.txt (train snippets showing each class, label 1) and val.txt (frames)."""
    sets = root / "ImageSets" / "VID"
    sets.mkdir(parents=True, exist_ok=True)
    for c, wnid in enumerate(WNIDS, 1):
        rels = sorted({o.snippet[6:] for o in objects if o.wnid == wnid and o.snippet.startswith("train/")})
        (sets / f"train_{c}.txt").write_text("".join(f"{rel} 1\n" for rel in rels))
    frames = [f"{rel}/{t:06d}" for split, rel, n, _ in plan if split == "val" for t in range(n)]
    (sets / "val.txt").write_text("".join(f"{name} {i}\n" for i, name in enumerate(frames, 1)))
