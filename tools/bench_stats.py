"""`siamfc bench stats`: manifest figures of a ~1 M record curation, as ratios to plain numpy floors.

A fake curation folder is generated: VID-like snippet ids, tracks and boxes for ``--records`` rows,
stored as the shards' snippet manifests (no crops: stats never reads them). Timed, best of ``--repeat``:

- ``figures``: :func:`manifest_figures` on the loaded manifest (the vectorised core);
- ``stats``: what ``siamfc stats SHARDS`` does without ``--out``: load the (cached) manifest, all
  figures (skip report read from the shards, disk sizes), the text tables;
- ``gather``: ``load_manifest`` with the cache ignored (rebuilt from the shards' snippet records).

Floors, measured in the same run: ``np.load`` of the cached manifest and ``np.sort`` of one column.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lmdb
import numpy as np

from siamfc.curate.folder import CurationLayout
from siamfc.curate.geometry import CONTEXT, EXEMPLAR_SIZE, SEARCH_SIZE
from siamfc.curate.manifest import MANIFEST_FILE, Manifest, load_manifest
from siamfc.curate.schema import (
    CROPS_DB,
    RECORD_DTYPE,
    SNIPPETS_DB,
    CurationSettings,
    SnippetMeta,
    encode_snippet_meta,
    shard_of,
)
from siamfc.curate.sources.vid_classes import WNIDS
from siamfc.curate.stats import curation_figures, manifest_figures, report_lines

VID_SNIPPETS = (3862, 555)  # train, val
FRAME_SIZES = np.array([(1280, 720), (640, 360), (480, 360), (500, 375), (1920, 1080)])


def synthetic_manifest(records: int = 1_000_000, seed: int = 0, shards: int = 8) -> Manifest:
    """A VID-like manifest of exactly ``records`` rows (vectorised, a second or so for 1 M)."""
    rng = np.random.default_rng(seed)
    ids = [f"train/ILSVRC2015_VID_train_{i * 4 // VID_SNIPPETS[0]:04d}/ILSVRC2015_train_{i:08d}"
           for i in range(VID_SNIPPETS[0])] + [f"val/ILSVRC2015_val_{i:08d}" for i in range(VID_SNIPPETS[1])]
    n_snip = len(ids)
    n_tracks = int(n_snip * 1.8)
    snippet_of_track = np.sort(np.concatenate([np.arange(n_snip), rng.integers(0, n_snip, n_tracks - n_snip)]))
    first = np.r_[True, snippet_of_track[1:] != snippet_of_track[:-1]]
    track_id = np.arange(n_tracks) - np.maximum.accumulate(np.where(first, np.arange(n_tracks), 0))
    lengths = np.maximum(1, rng.gamma(1.5, records / n_tracks / 1.5, n_tracks).astype(np.int64))
    lengths = _fit_total(lengths, records)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    r = np.zeros(records, RECORD_DTYPE)
    r["snippet"] = np.repeat(snippet_of_track, lengths)
    r["track"] = np.repeat(track_id, lengths)
    step = np.where(rng.random(records) < 0.003, rng.integers(2, 30, records), 1)  # tracks that leave and return
    step[starts] = rng.integers(0, 50, n_tracks)  # first frame of each track
    pos = np.cumsum(step)
    r["frame"] = pos - np.repeat(pos[starts] - step[starts], lengths)
    r["cls"] = np.repeat(rng.integers(0, len(WNIDS), n_tracks), lengths)
    size = FRAME_SIZES[rng.integers(0, len(FRAME_SIZES), n_snip)][r["snippet"]]
    r["width"], r["height"] = size[:, 0], size[:, 1]
    w = np.minimum(size[:, 0], np.exp(rng.normal(np.log(0.3 * size[:, 1]), 0.6)))
    h = np.minimum(size[:, 1], w / np.exp(rng.normal(0, 0.35, records)))
    r["xmin"] = rng.random(records) * (size[:, 0] - w)
    r["ymin"] = rng.random(records) * (size[:, 1] - h)
    r["xmax"], r["ymax"] = r["xmin"] + w - 1, r["ymin"] + h - 1
    margin = CONTEXT * (w + h)
    r["s_z"] = np.sqrt((w + margin) * (h + margin))
    r["pad_z"] = np.clip(rng.normal(-0.05, 0.1, records), 0, 0.9)
    r["pad_x"] = np.clip(r["pad_z"] + rng.normal(0.1, 0.1, records), 0, 0.95)
    r["occluded"] = rng.random(records) < 0.1
    r["generated"] = rng.random(records) < 0.05
    r["reduction"] = 2 ** np.clip(np.floor(np.log2(r["s_z"] / EXEMPLAR_SIZE)), 0, 3).astype(np.uint8)
    r["shard"] = np.array([shard_of(s, shards) for s in ids])[r["snippet"]]
    r["nbytes"] = np.clip(rng.normal(7000, 1500, records), 1500, 3 * SEARCH_SIZE**2)
    frames = np.zeros(n_snip, np.int64)
    np.maximum.at(frames, r["snippet"], r["frame"] + 1)
    return Manifest(r, np.array(ids), frames, complete=True)


def _fit_total(lengths: np.ndarray, total: int) -> np.ndarray:
    """Scale track lengths (each >= 1) so that they sum to exactly ``total``."""
    lengths = np.maximum(1, np.round(lengths * total / lengths.sum()).astype(np.int64))
    diff = total - int(lengths.sum())
    while diff:
        idx = np.flatnonzero(lengths > 1) if diff < 0 else np.arange(len(lengths))
        pick = idx[: abs(diff)]
        lengths[pick] += np.sign(diff)
        diff = total - int(lengths.sum())
    return lengths


def write_fake_curation(root: Path, m: Manifest, shards: int = 8) -> None:
    """Store ``m``'s rows as the snippet manifests of a curation without crops (stats never reads crops).

    Written straight into each shard's ``snippets`` database in one unsynced transaction per shard:
    the real writer's one synced commit per snippet would spend the setup on fsync."""
    layout = CurationLayout.create(root, CurationSettings(shards=shards))
    layout.add_to_plan([str(s) for s in m.snippets])
    bounds = np.searchsorted(m.records["snippet"], np.arange(len(m.snippets) + 1))
    by_shard: dict[int, list[int]] = {}
    for j, snippet_id in enumerate(m.snippets):
        by_shard.setdefault(layout.shard_for(str(snippet_id)), []).append(j)
    for index, snippets in by_shard.items():
        env = lmdb.open(str(layout.shard_path(index)), map_size=1 << 32, max_dbs=2, sync=False)
        try:
            env.open_db(CROPS_DB)
            db = env.open_db(SNIPPETS_DB)
            with env.begin(write=True, db=db) as txn:
                for j in snippets:
                    rows = m.records[bounds[j]:bounds[j + 1]].copy()
                    rows["snippet"] = 0
                    snippet_id = str(m.snippets[j])
                    meta = SnippetMeta(rows, int(m.frames[j]), classes=WNIDS)
                    txn.put(snippet_id.encode(), encode_snippet_meta(snippet_id, meta))
            env.sync(True)
        finally:
            env.close()


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_stats(records: int, repeat: int) -> dict:
    """Run the benchmark and print its table; returns the seconds of each step."""
    start = time.perf_counter()
    m = synthetic_manifest(records)
    print(f"synthetic manifest: {len(m):,} records, {len(m.snippets):,} snippets ({time.perf_counter() - start:.1f} s)")
    with tempfile.TemporaryDirectory(prefix="siamfc-bench-stats-") as tmp:
        root = Path(tmp) / "curation"
        write_fake_curation(root, m)
        t = {"gather": best_of(lambda: load_manifest(root, use_cache=False), 1)}
        loaded = load_manifest(root)
        assert len(loaded) == records
        cache = root / MANIFEST_FILE
        column = loaded.records["s_z"].copy()

        def np_load() -> None:
            with np.load(cache) as z:
                z["records"]

        def stats() -> None:
            manifest = load_manifest(root)
            report_lines(curation_figures(root, manifest))

        t["np.load"] = best_of(np_load, repeat)
        t["np.sort"] = best_of(lambda: np.sort(column), repeat)
        t["figures"] = best_of(lambda: manifest_figures(loaded), repeat)
        t["stats"] = best_of(stats, repeat)
    floor = t["np.load"] + t["np.sort"]
    print(f"floors: np.load of the manifest {t['np.load']:.3f} s, np.sort of one column {t['np.sort']:.3f} s")
    for name, what in (("figures", "manifest_figures (all tables and distributions)"),
                       ("stats", "siamfc stats SHARDS (load + figures + skips + disk + tables)"),
                       ("gather", "manifest rebuilt from the shards (no cache)")):
        print(f"{what:<62} {t[name]:7.3f} s | {t[name] / t['np.sort']:6.1f}x np.sort | "
              f"{t[name] / floor:6.1f}x (np.load + np.sort)")
    return t


def cmd_bench_stats(args: argparse.Namespace) -> None:
    bench_stats(args.records, args.repeat)
