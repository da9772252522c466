"""A synthetic TrackingNet tree, written the way the TrackingNet devkit lays out the real one.

``<root>/TRAIN_<k>/frames/<video>/<i>.jpg`` (numbered from 0 without zero padding) and
``<root>/TRAIN_<k>/anno/<video>.txt``: one ``x,y,w,h`` line per frame, two decimals, comma-separated, CRLF line ends
(``-4.07,96.34,236.30,172.80``), ``x, y`` the 0-based top-left pixel. Video names look like TrackingNet's (a
YouTube id and a segment number, ``-3TIfnTSM6c_2``). The frames and the target come from :mod:`.scene`: video ``g``
plays role ``g % 4`` and track 0 is the target (the scene's other tracks are distractors, unannotated as in
TrackingNet). The box written is the target's whole box, reaching beyond the frame where the target is partly out
of view (role 1 leaves the frame entirely for a few frames: those boxes lie wholly outside it); the first frame's box
is whole pixels (a YouTube-BB key frame), the others are moved by up to half a pixel, fractional like the real,
tracker-made boxes.

:class:`~.vid.SynthConfig` fields: ``train_snippets`` training videos (the first half, rounded up, in ``TRAIN_0``,
the rest in ``TRAIN_1``), ``val_snippets`` videos in ``TEST`` (frames and the first frame's box only, as the
real test set: not curatable, hence in no Truth), ``frames`` frames per video, ``seed``, ``quality`` (JPEG) and
``sizes`` ((w, h) cycled over the videos). The last training video has a gap as real TrackingNet videos do: the
frame file in its middle is missing while its annotation line is there.

Returns one :class:`~.truth.Truth` per training frame the curation must store: every line whose frame file exists
and whose box is not wholly outside the frame, with the box as ``xyxy`` (``x, y, x + w - 1, y + h - 1`` of the
numbers written), class ``""``, track 0. Nothing is hidden: TrackingNet has no visibility annotation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from .scene import encode_jpeg, render
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=4, val_snippets=1, frames=12,
                      sizes=((640, 360), (1920, 1080), (480, 360), (480, 270)))
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # YouTube ids


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write a TrackingNet-layout tree under ``root``; returns what a curation of it must store, video by video in
    id order, frames in order. Raises FileExistsError when one of its chunk folders already exists."""
    root, cfg = Path(root), config or DEFAULT
    rng = np.random.default_rng(cfg.seed)
    plan = _plan(cfg, rng)
    for chunk in sorted({chunk for chunk, _, _, _ in plan}):
        if (root / chunk).exists():
            raise FileExistsError(f"{root / chunk} already exists; generate into an empty root")
    truth: list[Truth] = []
    gap_video = max((g for g, (chunk, *_) in enumerate(plan) if chunk != "TEST"), default=None)
    with tqdm(total=sum(p[2] for p in plan), disable=not progress, unit="frame", desc="synthetic TrackingNet") as bar:
        for g, (chunk, name, n, (w, h)) in enumerate(plan):
            frames_dir, anno = root / chunk / "frames" / name, root / chunk / "anno" / f"{name}.txt"
            frames_dir.mkdir(parents=True)
            anno.parent.mkdir(parents=True, exist_ok=True)
            gap = n // 2 if g == gap_video and n >= 3 else None
            lines, video = [], []
            for t, (image, scene) in enumerate(render(g, n, w, h, rng)):
                x, y, bw, bh = _written_box(scene[0].full, rng if t else None)
                lines.append(f"{x:.2f},{y:.2f},{bw:.2f},{bh:.2f}")
                path = frames_dir / f"{t}.jpg"
                if t != gap:
                    path.write_bytes(encode_jpeg(image, cfg.quality))
                box = (x, y, x + bw - 1, y + bh - 1)
                if t != gap and not (box[2] < 0 or box[3] < 0 or box[0] > w - 1 or box[1] > h - 1):
                    video.append(Truth(f"train/{chunk}/{name}", t, 0, "", box, w, h, path))
                bar.update()
            if chunk == "TEST":
                lines = lines[:1]
            else:
                truth += video
            anno.write_bytes("".join(f"{line}\r\n" for line in lines).encode())
    return sorted(truth, key=lambda o: (o.snippet, o.frame))


def _plan(cfg: SynthConfig, rng: np.random.Generator) -> list[tuple[str, str, int, tuple[int, int]]]:
    """(chunk, video name, frame count, (w, h)) per video: training videos first, then the test videos."""
    half = -(-cfg.train_snippets // 2)
    chunks = [f"TRAIN_{int(i >= half)}" for i in range(cfg.train_snippets)] + ["TEST"] * cfg.val_snippets
    plan = []
    for g, chunk in enumerate(chunks):
        name = "".join(rng.choice(list(_ID_CHARS), 11)) + f"_{int(rng.integers(0, 4))}"
        plan.append((chunk, name, max(1, cfg.frames), cfg.sizes[g % len(cfg.sizes)]))
    return plan


def _written_box(full: tuple[int, int, int, int], rng: np.random.Generator | None) -> tuple[float, ...]:
    """``x, y, w, h`` as the file holds them (two decimals) for a target whose whole box is ``full`` (inclusive
    pixel indices); moved by up to half a pixel unless ``rng`` is None."""
    x, y, w, h = full[0], full[1], full[2] - full[0] + 1, full[3] - full[1] + 1
    moved = rng.uniform(-0.5, 0.5, 4) if rng is not None else np.zeros(4)
    return tuple(float(f"{v + d + 0.0:.2f}") + 0.0 for v, d in zip((x, y, w, h), moved, strict=True))
