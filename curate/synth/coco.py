"""A synthetic COCO 2017 tree: ``annotations/instances_{train,val}2017.json`` and ``{train,val}2017/*.jpg``.

Each rendered frame of :mod:`.scene` is one still image, and each object visible (drawn) in it one instance. The
:class:`SynthConfig` fields mean: ``train_snippets`` and ``val_snippets`` the images of each split (COCO has no
sequences: ``siamfc synth --format coco --train-snippets 4`` writes 4 train images), ``frames`` images rendered
from one scene (a split's last scene renders what is left; scene ``g``, train first, plays role ``g % 4``),
``seed``, JPEG ``quality``, and ``sizes``, cycled per scene. A split with no image is not written. The default
(:data:`DEFAULT`) is 15 train and 10 val images, 5 per scene, at 640x480, 480x360, 1920x1080 (train), 427x640 and
500x375 (val).

The JSON is written as the real files are: one line, ``","`` and ``": "`` separators, keys ``info``,
``licenses``, ``images``, ``annotations``, ``categories``; image entries with ``license``, ``file_name``
(``<id:012d>.jpg``), ``coco_url``, ``height``, ``width``, ``date_captured``, ``flickr_url``, ``id``; annotations
with ``segmentation`` (a polygon, two decimals), ``area``, ``iscrowd``, ``image_id``, ``bbox``, ``category_id``,
``id``; categories with ``supercategory``, ``id``, ``name``. Image ids and annotation ids are scattered (not
consecutive) and both lists are shuffled, as in the real files, whose lists are in no id order.

Boxes: an object drawn over pixel columns ``xmin..xmax`` gets ``bbox`` ``[xmin + d, ymin + d, xmax - xmin + 1 - 2d,
ymax - ymin + 1 - 2d]`` with ``d`` cycling through 0, 0.25 and 0.5 (fractional coordinates, as COCO's are; the
centre stays the drawn shape's centre), so the curation must store ``(xmin + d, ymin + d, xmax - d, ymax - d)``.
Categories are the scene's 30 ImageNet VID classes by readable name (``domestic cat``), with ids that skip
numbers as COCO's do. In each split the first image with two visible objects has its last one written as a
crowd annotation (``iscrowd`` 1, an uncompressed RLE, an id above int32 as COCO's crowd ids are): it is not in
the returned :class:`Truth`, since a curation leaves crowds out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import UserError
from ..sources import coco as source
from ..sources.vid_classes import VID_CLASSES, WNIDS
from .scene import SceneObject, encode_jpeg, render
from .truth import Truth
from .vid import SynthConfig

DEFAULT = SynthConfig(train_snippets=15, val_snippets=10, frames=5,
                      sizes=((640, 480), (480, 360), (1920, 1080), (427, 640), (500, 375)))
CATEGORY_IDS = {wnid: i + 1 + i // 3 for i, wnid in enumerate(WNIDS)}  # 1, 2, 3, 5, 6, 7, 9, ...
CROWD_IDS = 900100000000  # COCO's crowd annotations have ids from 900100000000 on
_INSETS = (0.0, 0.25, 0.5)
_INFO = {"description": "siamfc synthetic COCO 2017", "url": "http://cocodataset.org", "version": "1.0",
         "year": 2017, "contributor": "siamfc", "date_created": "2017/09/01"}
_LICENSES = [{"url": "http://creativecommons.org/licenses/by-nc-sa/2.0/", "id": 1,
              "name": "Attribution-NonCommercial-ShareAlike License"}]


def generate(root: str | Path, config: SynthConfig | None = None, progress: bool = False) -> list[Truth]:
    """Write a COCO 2017 tree under ``root`` and return its non-crowd instances, split by split in image-id order.
    Raises FileExistsError if ``root/annotations`` exists."""
    root = Path(root)
    if (root / "annotations").exists():
        raise FileExistsError(f"{root / 'annotations'} already exists; generate into an empty root")
    cfg = config or DEFAULT
    if cfg.frames < 1:
        raise UserError(f"frames (images per scene) must be at least 1, got {cfg.frames}")
    rng = np.random.default_rng(cfg.seed)
    total = cfg.train_snippets + cfg.val_snippets
    image_ids = iter((rng.choice(581_000, size=total, replace=False) + 1).tolist())
    next_ann = iter(np.cumsum(rng.integers(1, 5000, size=total * 4)).tolist())
    truth: list[Truth] = []
    (root / "annotations").mkdir(parents=True)
    g = 0  # scene number, over both splits
    with tqdm(total=total, disable=not progress, unit="image", desc="synthetic COCO") as bar:
        for split, count in (("train", cfg.train_snippets), ("val", cfg.val_snippets)):
            if count == 0:
                continue
            image_dir = root / f"{split}2017"
            image_dir.mkdir()
            images, annotations, written, crowd_done = [], [], [], False
            for first in range(0, count, cfg.frames):
                w, h = cfg.sizes[g % len(cfg.sizes)]
                for image, scene in render(g, min(cfg.frames, count - first), w, h, rng):
                    image_id = next(image_ids)
                    file_name = f"{image_id:012d}.jpg"
                    (image_dir / file_name).write_bytes(encode_jpeg(image, cfg.quality))
                    images.append(_image_entry(split, image_id, file_name, w, h, len(images)))
                    visible = [o for o in scene if o.visible]
                    for k, o in enumerate(visible):
                        if not crowd_done and len(visible) >= 2 and k == len(visible) - 1:
                            annotations.append(_crowd(o, image_id, w, h))
                            crowd_done = True
                            continue
                        ann_id = next(next_ann)
                        d = _INSETS[ann_id % 3] if min(o.box[2] - o.box[0], o.box[3] - o.box[1]) >= 2 else 0.0
                        annotations.append(_instance(o, image_id, ann_id, d))
                        box = (o.box[0] + d, o.box[1] + d, o.box[2] - d, o.box[3] - d)
                        written.append((image_id, ann_id, VID_CLASSES[o.wnid], box, w, h, image_dir / file_name))
                    bar.update()
                g += 1
            order = rng.permutation(len(images)), rng.permutation(len(annotations))
            data = {"info": _INFO, "licenses": _LICENSES, "images": [images[i] for i in order[0]],
                    "annotations": [annotations[i] for i in order[1]], "categories": _categories()}
            (root / "annotations" / f"instances_{split}2017.json").write_text(
                json.dumps(data, separators=(",", ": ")))
            group_of = {i: sid for sid, ids in source.image_groups(split, [e["id"] for e in images],
                                                                   source.GROUP_SIZE) for i in ids}
            truth += [Truth(group_of[i], i, a, cls, box, w, h, path)
                      for i, a, cls, box, w, h, path in sorted(written)]
    return truth


def _image_entry(split: str, image_id: int, file_name: str, w: int, h: int, n: int) -> dict:
    return {"license": 1, "file_name": file_name, "coco_url": f"http://images.cocodataset.org/{split}2017/{file_name}",
            "height": h, "width": w, "date_captured": f"2013-11-{14 + n % 10} 17:02:{n % 60:02d}",
            "flickr_url": f"http://farm{1 + n % 9}.staticflickr.com/{6000 + n}/{image_id}_synthetic_z.jpg",
            "id": image_id}


def _instance(o: SceneObject, image_id: int, ann_id: int, d: float) -> dict:
    """A non-crowd annotation: the drawn shape's outline as a polygon, its box inset by ``d`` on each side."""
    polygon = _outline(o)
    xs, ys = polygon[0::2], polygon[1::2]
    area = 0.5 * abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs))))
    xmin, ymin, xmax, ymax = o.box
    bbox = [round(v, 2) for v in (xmin + d, ymin + d, xmax - xmin + 1 - 2 * d, ymax - ymin + 1 - 2 * d)]
    return {"segmentation": [polygon], "area": area, "iscrowd": 0, "image_id": image_id, "bbox": bbox,
            "category_id": CATEGORY_IDS[o.wnid], "id": ann_id}


def _outline(o: SceneObject, points: int = 16) -> list[float]:
    """The drawn ellipse through the full box's edges (continuous coordinates: pixel i spans [i, i + 1]),
    clipped to the visible box, x, y alternating."""
    x0, y0, x1, y1 = o.full
    cx, cy, rx, ry = (x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2, (x1 - x0 + 1) / 2, (y1 - y0 + 1) / 2
    bx0, by0, bx1, by1 = o.box
    flat = []
    for a in np.linspace(0, 2 * np.pi, points, endpoint=False):
        flat += [round(float(np.clip(cx + rx * np.cos(a), bx0, bx1 + 1)), 2),
                 round(float(np.clip(cy + ry * np.sin(a), by0, by1 + 1)), 2)]
    return flat


def _crowd(o: SceneObject, image_id: int, w: int, h: int) -> dict:
    """A crowd annotation over the object's box: uncompressed RLE (column-major run lengths, zeros first)."""
    mask = np.zeros((h, w), np.uint8)
    xmin, ymin, xmax, ymax = o.box
    mask[ymin : ymax + 1, xmin : xmax + 1] = 1
    flat = mask.flatten(order="F")
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    counts = ([0] if flat[0] else []) + runs
    return {"segmentation": {"counts": counts, "size": [h, w]}, "area": int(mask.sum()), "iscrowd": 1,
            "image_id": image_id, "bbox": [float(xmin), float(ymin), float(xmax - xmin + 1), float(ymax - ymin + 1)],
            "category_id": CATEGORY_IDS[o.wnid], "id": CROWD_IDS + image_id}


def _categories() -> list[dict]:
    return [{"supercategory": "object", "id": CATEGORY_IDS[wnid], "name": VID_CLASSES[wnid]} for wnid in WNIDS]
