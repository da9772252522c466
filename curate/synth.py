"""A synthetic ImageNet VID (ILSVRC2015) tree: the embedded default dataset.

Writes the real layout and per-frame XML (see ``shared/vid-format.md``) with smooth, well-compressing
JPEG frames: a slowly panning low-frequency background and 1 to 3 textured shapes per snippet.
Snippet ``g`` (train first, then val) plays role ``g % 4``, so the default config always contains:

- role 0: one large track (both box sides > 250 px at 1280x720 in the first half), shrinking;
- role 1: one track that leaves the view on the left and comes back (empty frames, clipped boxes);
- role 2: two crossing tracks (track 0 ``occluded`` under track 1; track 1 ``generated`` between
  key frames) and a track cut by the bottom edge (clipped box, ``ymax = height - 1``);
- role 3: two randomly wandering tracks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .classes import WNIDS

Box = tuple[int, int, int, int]  # xmin, ymin, xmax, ymax, inclusive pixel indices
Planned = tuple[str, str, int, tuple[int, int]]  # split, path under the split, frames, (w, h)
MIN_VISIBLE = 0.25  # a track whose visible part is below this fraction of its extent is not drawn
OCCLUSION = 0.1  # fraction of a box covered by a later-drawn box that makes it ``occluded``


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


@dataclass
class _Track:
    wnid: str
    colours: np.ndarray  # (2, 3) float32 BGR
    pattern: int  # 0 stripes, 1 checker, 2 rings
    cycles: float  # pattern repeats across the shape
    angle: float  # stripe direction
    power: float  # 2: ellipse, 4: rounded rectangle
    path: tuple[np.ndarray, ...]  # centre x, centre y, half width, half height per frame, pixels
    generated: np.ndarray  # bool per frame


def generate(root: str | Path, config: SynthConfig = SynthConfig(), progress: bool = False) -> list[SynthObject]:
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
            snippet, tracks = f"{split}/{rel}", _tracks(g % 4, n, w, h, rng)
            canvas, offsets = _background(rng, w, h, n)
            data_dir, ann_dir = (root / top / "VID" / split / rel for top in ("Data", "Annotations"))
            data_dir.mkdir(parents=True)
            ann_dir.mkdir(parents=True)
            for t, (ox, oy) in enumerate(offsets):
                image = canvas[oy : oy + h, ox : ox + w].copy()
                written = []
                for k, full, box, occluded in _visible(tracks, t, w, h):
                    _draw(image, tracks[k], full)
                    gen = int(tracks[k].generated[t])
                    written.append(SynthObject(snippet, t, k, tracks[k].wnid, box, occluded, gen, w, h))
                ok, jpeg = cv2.imencode(".JPEG", image, [cv2.IMWRITE_JPEG_QUALITY, config.quality])
                if not ok:
                    raise RuntimeError(f"cv2.imencode failed for {data_dir / f'{t:06d}.JPEG'}")
                (data_dir / f"{t:06d}.JPEG").write_bytes(jpeg.tobytes())
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


def _tracks(role: int, n: int, w: int, h: int, rng: np.random.Generator) -> list[_Track]:
    """The scripted tracks of one snippet (see the module docstring for the roles)."""
    s = min(h / 720, w / 960)  # object scale relative to 1280x720
    t, one = np.linspace(0.0, 1.0, n), np.ones(n)

    def wave(period: float, phase: float) -> np.ndarray:
        return np.sin(2 * math.pi * (t / period + phase))

    if role == 0:  # large, slowly shrinking from 1.15 to 0.55 of its base size
        k = 0.85 + 0.3 * np.cos(math.pi * t)
        x, y = w * (0.5 + 0.06 * wave(1, rng.random())), h * (0.5 + 0.05 * wave(1, rng.random()))
        paths = [(x, y, 170 * s * k, 150 * s * k)]
    elif role == 1:  # leaves on the left around the middle and comes back
        x, y = w * (0.2 - 0.3 * np.sin(math.pi * t) ** 2), h * (0.5 + 0.1 * wave(1, rng.random()))
        paths = [(x, y, 80 * s * (1 + 0.2 * wave(1, 0.25)), 55 * s * (1 + 0.2 * wave(1, 0.25)))]
    elif role == 2:  # two crossing tracks (1 in front of 0) and one cut by the bottom edge
        paths = [
            (w * (0.2 + 0.55 * t), h * 0.42 * one, 55 * s * (1 + 0.2 * wave(1, 0)), 70 * s * one),
            (w * (0.8 - 0.55 * t), h * 0.5 * one, 75 * s * one, 50 * s * (1 + 0.2 * wave(1, 0.5))),
            (w * (0.78 + 0.08 * wave(1, 0)), h - 27 * s * one, 60 * s * one, 45 * s * one),
        ]
    else:  # randomly wandering, various aspect ratios, +-30 % scale
        paths = []
        for _ in range(2):
            base, aspect = rng.uniform(50, 100) * s, math.sqrt(rng.uniform(0.5, 2.0))
            k = 1 + 0.3 * wave(rng.uniform(0.7, 2.0), rng.random())
            x = w * (rng.uniform(0.3, 0.7) + 0.15 * wave(rng.uniform(1, 2), rng.random()))
            y = h * (rng.uniform(0.35, 0.65) + 0.12 * wave(rng.uniform(1, 2), rng.random()))
            paths.append((x, y, base * aspect * k, base / aspect * k))
    classes = rng.choice(len(WNIDS), size=len(paths), replace=False)
    tracks = [_look(rng, WNIDS[int(c)], p) for c, p in zip(classes, paths, strict=True)]
    if role == 2:
        tracks[1].generated = np.arange(n) % 4 != 0  # key frames every 4, interpolated in between
    return tracks


def _look(rng: np.random.Generator, wnid: str, path: tuple[np.ndarray, ...]) -> _Track:
    """A track with a random, distinctive appearance: two saturated colours and a smooth pattern."""
    hues = (rng.uniform(0, 180) + np.array([0, rng.uniform(40, 140)])) % 180
    hsv = np.stack([hues, rng.uniform(170, 255, 2), [rng.uniform(200, 255), rng.uniform(50, 110)]], -1)
    colours = cv2.cvtColor(hsv[None].astype(np.uint8), cv2.COLOR_HSV2BGR)[0].astype(np.float32)
    pattern, cycles, angle = int(rng.integers(3)), float(rng.uniform(2, 4)), float(rng.uniform(0, math.pi))
    power = float(rng.choice([2.0, 4.0]))
    return _Track(wnid, colours, pattern, cycles, angle, power, path, np.zeros(len(path[0]), bool))


def _background(rng: np.random.Generator, w: int, h: int, n: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A smooth, cloudy canvas larger than the frame, and the per-frame pan offsets into it."""
    pad = max(4, w // 20)
    cw, ch = w + 2 * pad, h + 2 * pad
    acc = np.full((ch, cw, 3), rng.uniform(60, 190, 3), np.float32)
    for cells, amp in ((3, 50.0), (8, 25.0), (20, 6.0)):  # octaves: grid cells across, amplitude
        lum = rng.normal(0, amp, (max(2, round(cells * ch / cw)) + 1, cells + 1, 1))
        grid = (lum + rng.normal(0, amp * 0.3, lum.shape[:2] + (3,))).astype(np.float32)
        acc += cv2.resize(grid, (cw, ch), interpolation=cv2.INTER_CUBIC)
    phase = rng.random(2) * 2 * math.pi
    offsets = [
        (pad + round(pad * math.sin(x + phase[0])), pad + round(pad * math.sin(x + phase[1])))
        for x in np.linspace(0, math.pi, n)
    ]
    return np.clip(acc, 0, 255).astype(np.uint8), offsets


def _visible(tracks: list[_Track], t: int, w: int, h: int) -> list[tuple[int, Box, Box, int]]:
    """(track index, full box, clipped box, occluded) of each track visible at frame t, in track order."""
    found = []
    for k, tr in enumerate(tracks):
        cx, cy, a, b = (round(float(v[t])) for v in tr.path)
        a, b = max(a, 1), max(b, 1)
        full = (cx - a, cy - b, cx + a, cy + b)
        box = (max(full[0], 0), max(full[1], 0), min(full[2], w - 1), min(full[3], h - 1))
        if min((box[2] - box[0] + 1) / (2 * a + 1), (box[3] - box[1] + 1) / (2 * b + 1)) >= MIN_VISIBLE:
            found.append((k, full, box))
    return [
        (k, full, box, int(any(_overlap(box, top) >= OCCLUSION * _area(box) for _, _, top in found[i + 1 :])))
        for i, (k, full, box) in enumerate(found)
    ]


def _area(box: Box) -> int:
    return (box[2] - box[0] + 1) * (box[3] - box[1] + 1)


def _overlap(p: Box, q: Box) -> int:
    return max(0, min(p[2], q[2]) - max(p[0], q[0]) + 1) * max(0, min(p[3], q[3]) - max(p[1], q[1]) + 1)


def _draw(image: np.ndarray, tr: _Track, full: Box) -> None:
    """Blend the track's anti-aliased, patterned shape into image; its drawn pixels span exactly ``full``."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(full[0], 0), max(full[1], 0), min(full[2], w - 1), min(full[3], h - 1)
    rx, ry = (full[2] - full[0]) / 2 + 0.5, (full[3] - full[1]) / 2 + 0.5
    u = (np.arange(x0, x1 + 1, dtype=np.float32) - (full[0] + full[2]) / 2)[None, :] / rx
    v = (np.arange(y0, y1 + 1, dtype=np.float32) - (full[1] + full[3]) / 2)[:, None] / ry
    r = (np.abs(u) ** tr.power + np.abs(v) ** tr.power) ** (1 / tr.power)
    alpha = np.clip((1 - r) * min(rx, ry) + 0.5, 0, 1)[..., None]  # ~ distance inside the edge, pixels
    c = math.pi * tr.cycles
    if tr.pattern == 0:
        mix = np.sin(c * (u * math.cos(tr.angle) + v * math.sin(tr.angle)))
    elif tr.pattern == 1:
        mix = 2 * np.sin(c * u) * np.sin(c * v)
    else:
        mix = np.cos(c * r)
    mix = np.clip(0.5 + 0.5 * mix, 0, 1)[..., None]
    colour = (tr.colours[0] + mix * (tr.colours[1] - tr.colours[0])) * (1 - 0.2 * r**2)[..., None]
    region = image[y0 : y1 + 1, x0 : x1 + 1].astype(np.float32)
    region += alpha * (colour - region)
    image[y0 : y1 + 1, x0 : x1 + 1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


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
