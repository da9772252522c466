"""Figures of a curation, from its manifest alone (no crop is decoded): counts, distributions, skips, bytes.

Everything here is vectorised numpy over the manifest columns, so a curation of ~1 M records takes
seconds; no matplotlib (see :mod:`siamfc.curate.plots` for drawing), so scripts import it cheaply.

The skip report is read from the shards (each committed snippet stores its skips next to its crops,
in the same transaction): that is authoritative even for a killed run. ``skipped.jsonl`` is rewritten
only at the end of a ``siamfc curate`` run, so it is merely compared against the shards and reported
as agreeing, stale or missing.

:func:`curation_figures` returns one JSON-ready dict with stable keys::

    version, root, source, complete, damaged[lines], snippets{committed, planned}, frames, tracks, records,
    records_filtered, splits{<split>: {snippets, tracks, records, frames}},
    classes{<class>: {name, records, tracks, snippets, by_split{<split>: records}}}   (the curation's vocabulary;
                                                                                     VID: all 30, official order)
    distributions{<quantity>: {count, min, p5, p25, p50, p75, p95, max, mean}}       (see QUANTITIES)
    gaps{gaps, gaps_over_1, tracks_with_gaps}, flags{occluded, generated, cut, cover{<level>: records}},
    hidden{total, by_flag{absent, no_cover, full_occlusion, out_of_view}}            (annotated, not visible),
    frame_sizes{"WxH": records}, reductions{"f": records},
    skipped{total, by_reason{}, source, report_file}, bytes{stored, stored_per_record, disk, disk_per_record,
    file, shards{<index>: disk bytes}}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .folder import CurationLayout
from .geometry import EXEMPLAR_SIZE
from .manifest import Manifest, load_manifest
from .run import SKIPPED_FILE, skip_report_state
from .schema import COVER_UNKNOWN, VISIBILITY_FLAGS, split_of
from .shards import ShardScan, scan_shards

FIGURES_VERSION = 2
PERCENTILES = (5, 25, 50, 75, 95)
NO_CLASS = "(none)"  # shown for the class "" of records without one (TrackingNet; GOT-10k without object_class)


@dataclass(frozen=True)
class Quantity:
    """A distribution reported by stats: its label and unit for tables and plots, and what it counts."""

    label: str
    unit: str  # "" when dimensionless
    per: str  # what one value is: "record", "track" or "gap"
    integer: bool = False  # integer-valued (histograms use unit-wide bins)
    percent: bool = False  # a fraction in [0, 1], shown as a percentage


QUANTITIES: dict[str, Quantity] = {
    "track_length": Quantity("track length", "records", "track", integer=True),
    "frame_gap": Quantity("frame gap inside tracks", "frames", "gap", integer=True),
    "box_width": Quantity("box width in the frame", "px", "record"),
    "box_height": Quantity("box height in the frame", "px", "record"),
    "box_frame_fraction": Quantity("box size / frame size, sqrt(wh / WH)", "", "record"),
    "aspect_ratio": Quantity("box aspect ratio w / h", "", "record"),
    "s_z": Quantity("exemplar context side s_z", "frame px", "record"),
    "scale": Quantity(f"scale factor {EXEMPLAR_SIZE} / s_z", "crop px per frame px", "record"),
    "pad_z": Quantity("exemplar crop padding", "% of crop", "record", percent=True),
    "pad_x": Quantity("search crop padding", "% of crop", "record", percent=True),
    "nbytes": Quantity("stored crop size", "bytes", "record", integer=True),
}


def summarize(values: np.ndarray) -> dict:
    """count, min, p5, p25, p50, p75, p95, max, mean of ``values`` (None for an empty array)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    keys = ["min", *(f"p{q}" for q in PERCENTILES), "max", "mean"]
    if v.size == 0:
        return {"count": 0, **dict.fromkeys(keys)}
    # min/max are the 0th/100th percentiles: one partition for all seven
    qs = np.percentile(v, [0, *PERCENTILES, 100])
    return {"count": int(v.size), **{k: float(x) for k, x in zip(keys[:-1], qs, strict=True)}, "mean": float(v.mean())}


def sorted_records(records: np.ndarray) -> np.ndarray:
    """``records`` sorted by (snippet, track, frame), as the manifest promises; sorts only when needed."""
    s, t, f = records["snippet"], records["track"], records["frame"]
    same_s, same_t = s[1:] == s[:-1], t[1:] == t[:-1]
    ordered = np.all((s[1:] > s[:-1]) | (same_s & (t[1:] > t[:-1])) | (same_s & same_t & (f[1:] > f[:-1])))
    return records if ordered else records[np.lexsort((f, t, s))]


def track_starts(records: np.ndarray) -> np.ndarray:
    """Boolean mask of the first record of each track (records sorted by snippet, track, frame)."""
    new = np.ones(len(records), dtype=bool)
    s, t = records["snippet"], records["track"]
    new[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1])
    return new


def distributions(m: Manifest) -> dict[str, np.ndarray]:
    """The per-record (or per-track, per-gap) values of every quantity in :data:`QUANTITIES`."""
    r = sorted_records(m.records)
    return _distributions(r, track_starts(r))


def _distributions(r: np.ndarray, starts: np.ndarray) -> dict[str, np.ndarray]:
    first = np.flatnonzero(starts)
    w = r["xmax"].astype(np.float64) - r["xmin"] + 1  # boxes are inclusive pixel indices
    h = r["ymax"].astype(np.float64) - r["ymin"] + 1
    s_z = r["s_z"].astype(np.float64)
    return {
        "track_length": np.diff(np.append(first, len(r))),
        "frame_gap": np.diff(r["frame"])[~starts[1:]],
        "box_width": w,
        "box_height": h,
        "box_frame_fraction": np.sqrt(w * h / (r["width"].astype(np.float64) * r["height"])),
        "aspect_ratio": w / h,
        "s_z": s_z,
        "scale": EXEMPLAR_SIZE / s_z,
        "pad_z": r["pad_z"],
        "pad_x": r["pad_x"],
        "nbytes": r["nbytes"],
    }


def snippet_splits(m: Manifest) -> tuple[list[str], np.ndarray]:
    """Split names (sorted) and each snippet's index into them."""
    names = [split_of(str(s)) for s in m.snippets]
    splits = sorted(set(names))
    return splits, np.array([splits.index(n) for n in names], dtype=np.int64)


def class_name(m: Manifest, c: int) -> str:
    """Readable name of class index ``c``: :meth:`Manifest.class_label`, :data:`NO_CLASS` for the empty class."""
    return m.class_label(c) or NO_CLASS


def manifest_figures(m: Manifest) -> dict:
    """Counts, per-split and per-class tables and distribution summaries of a manifest."""
    r = sorted_records(m.records)
    starts = track_starts(r)
    splits, split_of = snippet_splits(m)
    rec_split = split_of[r["snippet"]] if len(r) else np.zeros(0, np.int64)
    cls = r["cls"].astype(np.int64)
    n_cls, n_split = len(m.classes), len(splits)
    values = _distributions(r, starts)
    gaps = values["frame_gap"]
    track_has_gap = np.zeros(len(r), dtype=bool)
    track_has_gap[1:] = ~starts[1:] & (np.diff(r["frame"]) > 1)
    track_id = np.cumsum(starts) - 1
    by_cls_split = np.bincount(cls * n_split + rec_split, minlength=n_cls * n_split).reshape(n_cls, n_split)
    tracks_cls = np.bincount(cls[starts], minlength=n_cls)
    snippets_cls = np.bincount(np.unique(r["snippet"].astype(np.int64) * n_cls + cls) % n_cls, minlength=n_cls)
    return {
        "snippets": {"committed": len(m.snippets)},
        "frames": int(m.frames.sum()),
        "tracks": int(starts.sum()),
        "records": len(r),
        "splits": {
            name: {
                "snippets": int(np.sum(split_of == i)),
                "tracks": int(np.sum(rec_split[starts] == i)),
                "records": int(np.sum(rec_split == i)),
                "frames": int(m.frames[split_of == i].sum()),
            }
            for i, name in enumerate(splits)
        },
        "classes": {
            name: {
                "name": class_name(m, c),
                "records": int(by_cls_split[c].sum()),
                "tracks": int(tracks_cls[c]),
                "snippets": int(snippets_cls[c]),
                "by_split": {name: int(by_cls_split[c, i]) for i, name in enumerate(splits)},
            }
            for c, name in enumerate(m.classes)
        },
        "distributions": {k: summarize(v) for k, v in values.items()},
        "gaps": {
            "gaps": len(gaps),
            "gaps_over_1": int(np.sum(gaps > 1)),
            "tracks_with_gaps": len(np.unique(track_id[track_has_gap])),
        },
        "flags": {"occluded": int(np.count_nonzero(r["occluded"])), "generated": int(np.count_nonzero(r["generated"])),
                  "cut": int(np.count_nonzero(r["cut"])),
                  "cover": _counts_of(r["cover"][r["cover"] != COVER_UNKNOWN])},
        "hidden": {"total": len(m.hidden),
                   "by_flag": {k: int(np.count_nonzero(m.hidden["flags"] & bit))
                               for k, bit in VISIBILITY_FLAGS.items()}},
        "frame_sizes": _frame_sizes(r),
        "reductions": _counts_of(r["reduction"]),
    }


def _counts_of(values: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(values, return_counts=True)
    return {str(int(k)): int(c) for k, c in zip(keys, counts, strict=True)}


def _frame_sizes(r: np.ndarray) -> dict[str, int]:
    """Records per frame size "WxH", most frequent first."""
    code = r["width"].astype(np.int64) << 32 | r["height"].astype(np.int64)
    codes, counts = np.unique(code, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return {f"{int(codes[i] >> 32)}x{int(codes[i] & 0xFFFFFFFF)}": int(counts[i]) for i in order}


def shard_report(layout: CurationLayout, scan: ShardScan) -> dict:
    """Skips by reason and filtered objects, from the committed snippets in the shards (authoritative: ``scan``
    of the curation in ``layout``), and whether ``skipped.jsonl`` agrees with them."""
    reasons: Counter[str] = Counter()
    filtered, entries = 0, []
    for meta in scan.metas.values():
        filtered += meta.filtered
        reasons.update(s.get("reason", "unknown") for s in meta.skipped)
        entries.extend(meta.skipped)
    return {
        "records_filtered": filtered,
        "skipped": {
            "total": sum(reasons.values()),
            "by_reason": dict(sorted(reasons.items())),
            "source": "shards",
            "report_file": skip_report_state(layout.root / SKIPPED_FILE, entries),
        },
    }


def disk_figures(layout: CurationLayout, stored: int, records: int) -> dict:
    """Stored value bytes vs bytes the shard files take on disk (allocated blocks), total and per record."""
    per_shard, apparent = {}, 0
    for i in layout.existing_shards():
        st = (layout.shard_path(i) / "data.mdb").stat()
        per_shard[str(i)] = int(getattr(st, "st_blocks", 0) * 512 or st.st_size)
        apparent += st.st_size
    disk = sum(per_shard.values())
    return {
        "stored": stored,
        "stored_per_record": stored / records if records else None,
        "disk": disk,
        "disk_per_record": disk / records if records else None,
        "file": apparent,
        "shards": per_shard,
    }


def curation_figures(root: str | Path, manifest: Manifest | None = None) -> dict:
    """All figures of the curation at ``root`` (see the module docstring for the keys)."""
    layout = CurationLayout.open(root)
    scan = scan_shards(layout)
    m = manifest if manifest is not None else load_manifest(root, intact_only=True, scan=scan)
    planned = layout.planned_snippets()
    figs = {"version": FIGURES_VERSION, "root": str(root), "source": m.source, "complete": m.complete,
            "damaged": list(m.damaged)}
    figs |= manifest_figures(m)
    figs["snippets"]["planned"] = len(planned) if planned is not None else None
    figs |= shard_report(layout, scan)
    figs["bytes"] = disk_figures(layout, int(m.records["nbytes"].sum(dtype=np.int64)), len(m))
    return _ordered(figs)


_KEY_ORDER = ("version", "root", "source", "complete", "damaged", "snippets", "frames", "tracks", "records",
              "records_filtered", "splits", "classes", "distributions", "gaps", "flags", "hidden", "frame_sizes",
              "reductions", "skipped", "bytes")


def _ordered(figs: dict) -> dict:
    return {k: figs[k] for k in _KEY_ORDER}


def completeness_line(figs: dict) -> str:
    """One line on whether the curation is finished."""
    done, planned = figs["snippets"]["committed"], figs["snippets"]["planned"]
    if planned is None:
        return f"partial curation: {done} snippets committed, no plan.json (completeness unknown)"
    if figs["complete"]:
        return f"complete curation: {done} of {planned} planned snippets committed"
    return f"partial curation: {done} of {planned} planned snippets committed"


def report_lines(figs: dict) -> list[str]:
    """The figures as plain-text tables."""
    n = figs["records"]
    damaged = [f"DAMAGED {line}" for line in figs["damaged"]]
    if damaged:
        damaged.append(f"figures below are of the intact part; `siamfc curate SOURCE {figs['root']} --repair` "
                       "redoes what the damaged shards held")
    lines = [f"curation {figs['root']} (source: {figs['source']})", completeness_line(figs), *damaged,
             f"snippets {figs['snippets']['committed']} | tracks {figs['tracks']} | records {n} | "
             f"annotated frames {figs['frames']} | objects filtered out {figs['records_filtered']}", ""]
    lines += _table(["split", "snippets", "tracks", "records", "frames"],
                    [[k, v["snippets"], v["tracks"], v["records"], v["frames"]] for k, v in figs["splits"].items()])
    splits = list(figs["splits"])
    rows = [[c["name"], key or "-", c["records"], _pct(c["records"], n), c["tracks"], c["snippets"],
             *(c["by_split"][s] for s in splits)]
            for key, c in sorted(figs["classes"].items(), key=lambda kv: -kv[1]["records"]) if c["records"]]
    empty = [c["name"] for c in figs["classes"].values() if not c["records"]]
    lines += [""] + _table(["class", "id", "records", "%", "tracks", "snippets", *splits], rows)
    if empty:
        lines.append(f"no records: {len(empty)} classes ({', '.join(empty)})")
    lines += [""] + _distribution_table(figs["distributions"])
    gaps, flags = figs["gaps"], figs["flags"]
    lines += ["",
              f"gaps      {gaps['gaps_over_1']} of {gaps['gaps']} in-track steps skip frames, "
              f"in {gaps['tracks_with_gaps']} of {figs['tracks']} tracks",
              f"flags     occluded {flags['occluded']} ({_pct(flags['occluded'], n)}%), "
              f"generated {flags['generated']} ({_pct(flags['generated'], n)}%), "
              f"cut by the image {flags['cut']} ({_pct(flags['cut'], n)}%)"
              + (", cover " + _counts({f"{k}/8": v for k, v in flags["cover"].items()}, n) if flags["cover"] else ""),
              "hidden    " + _hidden_line(figs["hidden"]),
              "frames    " + _counts(figs["frame_sizes"], n),
              "reduction " + _counts({f"1/{k}": v for k, v in figs["reductions"].items()}, n)]
    sk = figs["skipped"]
    reasons = ", ".join(f"{k} {v}" for k, v in sk["by_reason"].items()) or "none"
    lines.append(f"skipped   {sk['total']} ({reasons}); from the {sk['source']}, skipped.jsonl {sk['report_file']}")
    b = figs["bytes"]
    if n:
        lines.append(f"bytes     stored {b['stored'] / 1e6:.1f} MB ({b['stored_per_record'] / 1e3:.2f} KB/record), "
                     f"on disk {b['disk'] / 1e6:.1f} MB ({b['disk_per_record'] / 1e3:.2f} KB/record) "
                     f"in {len(b['shards'])} shard files")
    return lines


def _hidden_line(hidden: dict) -> str:
    flags = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in hidden["by_flag"].items() if v)
    return f"{hidden['total']} annotated objects not visible, not cropped" + (f" ({flags})" if flags else "")


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}" if n else "-"


def _counts(counts: dict[str, int], n: int) -> str:
    return ", ".join(f"{k} {v} ({_pct(v, n)}%)" for k, v in counts.items()) or "none"


def _fmt(x: float | None, q: Quantity, mean: bool = False) -> str:
    if x is None:
        return "-"
    if q.percent:
        return f"{100 * x:.1f}"
    return f"{x:.0f}" if (q.integer and not mean) or abs(x) >= 100 else f"{x:.3g}"


def _distribution_table(dists: dict) -> list[str]:
    cols = ["count", "min", *(f"p{q}" for q in PERCENTILES), "max", "mean"]
    rows = []
    for key, s in dists.items():
        q = QUANTITIES[key]
        rows.append([q.label, q.unit or "-", s["count"], *(_fmt(s[c], q, c == "mean") for c in cols[1:])])
    return _table(["quantity", "unit", *cols], rows)


def _table(header: list[str], rows: list[list]) -> list[str]:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in cells]


def sources_row(figs: dict) -> dict:
    """One curation's headline figures, for the table of several curations."""
    classes = sum(1 for key, c in figs["classes"].items() if c["records"] and key)  # "": no class
    return {"root": figs["root"], "source": figs["source"], "complete": figs["complete"],
            "snippets": figs["snippets"]["committed"], "tracks": figs["tracks"], "records": figs["records"],
            "hidden": figs["hidden"]["total"], "skipped": figs["skipped"]["total"], "classes": classes,
            "splits": {k: v["records"] for k, v in figs["splits"].items()}}


def sources_table(all_figs: list[dict]) -> list[str]:
    """Several curations side by side: one row each, then the totals."""
    rows = [sources_row(f) for f in all_figs]
    total = sum(r["records"] for r in rows)
    splits = sorted({s for r in rows for s in r["splits"]})
    table = [[r["source"], r["root"], r["snippets"], r["tracks"], r["records"], _pct(r["records"], total),
              *(r["splits"].get(s, 0) for s in splits), r["classes"], r["hidden"], r["skipped"]] for r in rows]
    table.append(["all", "", *(sum(r[k] for r in rows) for k in ("snippets", "tracks", "records")), "100.0",
                  *(sum(r["splits"].get(s, 0) for r in rows) for s in splits), "", *(sum(r[k] for r in rows)
                                                                                    for k in ("hidden", "skipped"))])
    return ["sources"] + _table(["source", "curation", "snippets", "tracks", "records", "%", *splits, "classes",
                                 "not visible", "skipped"], table)
