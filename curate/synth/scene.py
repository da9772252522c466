"""Synthetic scenes, the same for every dataset layout: smooth, well-compressing frames with textured, moving shapes.

A scene is a slowly panning low-frequency background and 1 to 3 shapes; the ``role`` scripts them:

- role 0: one large track (both box sides > 250 px at 1280x720 in the first half), shrinking;
- role 1: one track that leaves the view on the left and comes back (frames where it is not visible, clipped
  boxes);
- role 2: two crossing tracks (track 0 ``occluded`` under track 1; track 1 ``generated`` between key frames) and a
  track cut by the bottom edge (clipped box, ``ymax = height - 1``);
- role 3: two randomly wandering tracks.

:func:`render` yields each frame and the ground truth of every track in it; the writers of
:mod:`siamfc.curate.synth` turn them into a dataset's files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..sources.vid_classes import VID_CLASSES, WNIDS

Box = tuple[int, int, int, int]  # xmin, ymin, xmax, ymax, inclusive pixel indices
MIN_VISIBLE = 0.25  # a track whose visible part is below this fraction of its extent is not drawn
OCCLUSION = 0.1  # fraction of a box covered by a later-drawn box that makes it ``occluded``
ROLES = 4


@dataclass(frozen=True)
class SceneObject:
    """Ground truth of one track in one frame."""

    track: int
    wnid: str  # its class, an ImageNet VID WordNet id (:attr:`label` is the readable name)
    full: Box  # the whole shape, possibly reaching beyond the frame
    box: Box  # the part inside the frame
    visible: bool  # drawn: at least MIN_VISIBLE of its extent is inside the frame
    occluded: int  # covered by a later-drawn track by at least OCCLUSION of its box
    generated: int  # role 2's track 1 between key frames
    cover: float  # fraction of the full box inside the frame and not covered by a later-drawn track

    @property
    def label(self) -> str:
        return VID_CLASSES[self.wnid]

    @property
    def cut(self) -> bool:
        """The frame's edge cuts the box."""
        return self.box != self.full


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


def render(role: int, n: int, w: int, h: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray,
                                                                                           list[SceneObject]]]:
    """The ``n`` frames (BGR uint8, ``h`` x ``w``) of a scene of role ``role`` and the tracks in each, track order
    (every track of the scene, visible or not)."""
    tracks = _tracks(role % ROLES, n, w, h, rng)
    canvas, offsets = _background(rng, w, h, n)
    for t, (ox, oy) in enumerate(offsets):
        image = canvas[oy : oy + h, ox : ox + w].copy()
        objects = _frame_objects(tracks, t, w, h)
        for o in objects:
            if o.visible:
                _draw(image, tracks[o.track], o.full)
        yield image, objects


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of a frame."""
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    return jpeg.tobytes()


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


def _frame_objects(tracks: list[_Track], t: int, w: int, h: int) -> list[SceneObject]:
    """Every track at frame t, in track order (later tracks are drawn over earlier ones)."""
    placed = []
    for k, tr in enumerate(tracks):
        cx, cy, a, b = (round(float(v[t])) for v in tr.path)
        a, b = max(a, 1), max(b, 1)
        full = (cx - a, cy - b, cx + a, cy + b)
        box = (max(full[0], 0), max(full[1], 0), min(full[2], w - 1), min(full[3], h - 1))
        inside = min(max(box[2] - box[0] + 1, 0) / (2 * a + 1), max(box[3] - box[1] + 1, 0) / (2 * b + 1))
        placed.append((k, full, box, inside >= MIN_VISIBLE))
    objects = []
    for k, full, box, visible in placed:
        above = [top for j, _, top, vis in placed if j > k and vis]
        covered = max((_overlap(box, top) for top in above), default=0) if visible else 0
        area = _area(box) if visible else 0
        cover = (area - covered) / _area(full) if visible else 0.0
        objects.append(SceneObject(k, tracks[k].wnid, full, box, visible, int(visible and covered >= OCCLUSION * area),
                                   int(tracks[k].generated[t]), cover))
    return objects


def _area(box: Box) -> int:
    return max(box[2] - box[0] + 1, 0) * max(box[3] - box[1] + 1, 0)


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
