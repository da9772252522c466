"""A synthetic tree of your own sequences (``--format sequences`` 0-based, ``sequences1`` 1-based), and the helper the
benchmark writers (:mod:`.otb`, :mod:`.uav`, :mod:`.nfs`, :mod:`.tc128`, :mod:`.tnl2k`) share to render frames.

``<root>/<seq>/``: the first sequence holds its frames directly (``0001.jpg ...``) and ``groundtruth.txt``; the
second has them in ``img/`` and its box file is ``<seq>.txt``; one line ``x,y,w,h`` per frame (integers, commas),
``x, y`` the top-left pixel counted from 0 (``sequences``) or from 1 (``sequences1``); a frame where the target is
not drawn (it left the view) has the line ``NaN,NaN,NaN,NaN``. Sequence ``g`` plays :mod:`.scene` role
``(0, 1, 2, 3)[g % 4]``, track 0 is the target and its box is the part inside the frame.

:class:`~.vid.SynthConfig` fields: ``train_snippets + val_snippets`` sequences (the split is ``all`` either way),
``frames`` per sequence, ``seed``, ``quality``, ``sizes`` cycled.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from tqdm import tqdm

from ..schema import ABSENT
from .scene import SceneObject, encode_jpeg, render
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=2, val_snippets=0, frames=10, sizes=((320, 240), (480, 360)))
NAMES = ("walk", "car", "ball", "kite")
Frame = tuple[Path, SceneObject, list[SceneObject]]  # the frame file, the target, every track of the frame


def write_frames(role: int, n: int, size: tuple[int, int], rng: np.random.Generator, quality: int,
                 path_of: Callable[[int], Path], bar: tqdm | None = None) -> list[Frame]:
    """Render ``n`` frames of a scene of ``role`` and write frame ``t`` (0-based) to ``path_of(t)`` (folders made);
    returns (file, target, tracks) per frame, track 0 the target."""
    frames = []
    for t, (image, scene) in enumerate(render(role, n, *size, rng)):
        path = path_of(t)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_jpeg(image, quality))
        frames.append((path, scene[0], scene))
        if bar is not None:
            bar.update()
    return frames


def xywh(box: tuple[int, int, int, int], one_based: bool) -> tuple[int, int, int, int]:
    """``x, y, w, h`` of an inclusive 0-based box, ``x, y`` counted from 1 if ``one_based``."""
    xmin, ymin, xmax, ymax = box
    return xmin + one_based, ymin + one_based, xmax - xmin + 1, ymax - ymin + 1


def empty_root(root: str | Path) -> Path:
    """``root`` as a Path; FileExistsError if it exists and is not empty."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} already exists and is not empty; generate into an empty root")
    return root


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False,
             one_based: bool = False) -> list[Truth]:
    """Write a tree of your own sequences under ``root``; every frame's truth (hidden ones included), in id and
    frame order."""
    root, cfg = empty_root(root), config or DEFAULT
    rng = np.random.default_rng(cfg.seed)
    count = cfg.train_snippets + cfg.val_snippets
    truth: list[Truth] = []
    with tqdm(total=count * cfg.frames, disable=not progress, unit="frame", desc="synthetic sequences") as bar:
        for g in range(count):
            name = f"{NAMES[g % len(NAMES)]}{g + 1}"
            folder = root / name
            frames_dir = folder / "img" if g % 2 else folder
            w, h = cfg.sizes[g % len(cfg.sizes)]
            frames = write_frames((0, 1, 2, 3)[g % 4], cfg.frames, (w, h), rng, cfg.quality,
                                  lambda t, d=frames_dir: d / f"{t + 1:04d}.jpg", bar)
            lines = []
            for t, (path, target, _) in enumerate(frames):
                box = tuple(float(v) for v in target.box)
                truth.append(Truth(f"all/{name}", t + 1, 0, "", box, w, h, path, visible=target.visible,  # type: ignore[arg-type]
                                   flags=0 if target.visible else ABSENT))
                lines.append(",".join(map(str, xywh(target.box, one_based))) if target.visible else "NaN,NaN,NaN,NaN")
            box_file = folder / ("groundtruth.txt" if g % 2 == 0 else f"{name}.txt")
            box_file.write_text("".join(f"{line}\n" for line in lines))
    return sorted(truth, key=lambda o: (o.snippet, o.frame))


def _generate_one_based(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    return generate(root, config, progress, one_based=True)


ONE_BASED_WRITER = SimpleNamespace(generate=_generate_one_based, DEFAULT=DEFAULT)  # ``sequences1``
