"""Checks every source's tests make: a curation of a synthetic tree against the tree's own ground truth
(:class:`~siamfc.curate.synth.truth.Truth`), crops against an independent computation."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from siamfc.curate.manifest import Manifest, load_manifest
from siamfc.curate.run import CurationConfig, CurationSummary, curate
from siamfc.curate.schema import CurationSettings
from siamfc.curate.shards import ShardReader
from siamfc.curate.synth.truth import Truth

from crop_reference import reference_crop, siamfc_sides


def curate_quietly(source: Path, out: Path, fmt: str | None = None, splits: tuple[str, ...] | None = None,
                   **options) -> CurationSummary:
    """Curate ``source`` into ``out`` without a progress bar (format recognised unless ``fmt``): the one way tests
    curate in-process. ``options`` are :class:`CurationSettings` fields (``shards``, ``encoding``, ...) or
    :class:`CurationConfig` fields (``max_snippets``, ``workers``, ``refresh``, ``repair``, ...)."""
    config_fields = {f.name for f in dataclasses.fields(CurationConfig)}
    config = {k: v for k, v in options.items() if k in config_fields}
    settings = CurationSettings(**{k: v for k, v in options.items() if k not in config_fields})
    return curate(CurationConfig(source=source, out=out, format=fmt, splits=splits, progress=False,
                                 settings=settings, **config))


def record_table(m: Manifest) -> dict[tuple[str, int, int], np.void]:
    """(snippet id, track, frame) -> manifest row."""
    return {(str(m.snippets[r["snippet"]]), int(r["track"]), int(r["frame"])): r for r in m.records}


def assert_records_match(out: Path, truth: list[Truth]) -> Manifest:
    """One record per visible object, each with the truth's box, frame size, class and flags; one hidden entry per
    object that is not visible, with its flags."""
    m = load_manifest(out)
    rows = record_table(m)
    visible = {(t.snippet, t.track, t.frame): t for t in truth if t.visible}
    assert len(m) == len(rows) == len(visible), (len(m), len(visible))
    assert set(rows) == set(visible)
    for key, t in visible.items():
        r = rows[key]
        got = tuple(float(r[c]) for c in ("xmin", "ymin", "xmax", "ymax"))
        assert np.allclose(got, t.box, atol=1e-3), (key, got, t.box)
        assert (int(r["width"]), int(r["height"])) == (t.width, t.height), key
        assert m.classes[int(r["cls"])] == t.cls, key
        assert (int(r["occluded"]), int(r["generated"]), int(r["cover"]), int(r["cut"])) == (
            t.occluded, t.generated, t.cover, t.cut), key
    hidden = {(str(m.snippets[h["snippet"]]), int(h["track"]), int(h["frame"])): int(h["flags"]) for h in m.hidden}
    assert hidden == {(t.snippet, t.track, t.frame): t.flags for t in truth if not t.visible}
    assert Counter(m.classes[c] for c in m.records["cls"]) == Counter(t.cls for t in visible.values())
    return m


def assert_crops_match_reference(out: Path, truth: list[Truth], every: int = 3) -> int:
    """Every ``every``-th visible object's stored crops (a raw, full-resolution curation) equal a crop computed
    independently from the image file; returns how many were compared."""
    reader, images, n = ShardReader(out), {}, 0
    for t in [t for t in truth if t.visible][::every]:
        if t.path not in images:
            images[t.path] = cv2.imread(str(t.path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        cx, cy, _, _, s_z = siamfc_sides(*t.box)
        z, x = reader.crops(f"{t.snippet}/{t.track:04d}/{t.frame:06d}".encode())
        for got, side, size in ((x, s_z * 255 / 127, 255), (z, s_z, 127)):
            ref = np.round(reference_crop(images[t.path], cx, cy, side, size))  # stored crops are whole numbers
            diff = np.abs(got.astype(np.float64) - ref)
            assert got.shape == (size, size, 3) and diff.max() <= 2 and diff.mean() < 0.3, (t, diff.max())
        n += 1
    reader.close()
    return n


def skip_entries(out: Path) -> list[dict]:
    """The curation's skip report (``skipped.jsonl``)."""
    return [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines() if line.strip()]
