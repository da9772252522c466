"""`siamfc stats`: what a curation holds (tables from the manifest), pictures, and an integrity check."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from siamfc.curate.atomic import write_json_atomic
from siamfc.curate.manifest import load_manifest
from siamfc.curate.stats import curation_figures, report_lines

STATS_JSON, VERIFY_JSON, HTML_PAGE = "stats.json", "verify.json", "index.html"


def cmd_stats(args: argparse.Namespace) -> int:
    root = Path(args.shards)
    manifest = load_manifest(root, intact_only=True)
    figs = curation_figures(root, manifest)
    lines = report_lines(figs)
    print("\n".join(lines), flush=True)
    out = Path(args.out) if args.out else None
    if out is not None:
        from siamfc.curate.plots import write_html, write_pictures  # matplotlib only when pictures are asked for

        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / STATS_JSON, figs)
        images = write_pictures(root, manifest, figs, out, montage=args.montage, seed=args.seed)
    status, extra = (1 if manifest.damaged else 0), []
    if args.verify:
        from siamfc.curate.verify import verify

        report = verify(root, workers=args.workers, progress=not args.no_progress)
        extra = [""] + report.lines()
        print("\n".join(extra))
        if out is not None:
            write_json_atomic(out / VERIFY_JSON, report.to_json())
        status = max(status, 0 if report.ok else 1)
    if out is not None:
        write_html(figs, images, out / HTML_PAGE, extra)
        print(f"wrote {out / STATS_JSON}, {len(images)} PNGs and {out / HTML_PAGE}")
    return status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stats", help="what a curation holds: tables, plots, montage, --verify integrity check",
        description="Print figures of a curation from its manifest alone (fast, no crop is decoded): "
                    "snippets, tracks, records per split and class, track lengths, frame gaps, box sizes, s_z, "
                    "padding, flags, skips by reason, bytes per record. Says so when the curation is partial, and "
                    "names damaged shards (the figures are then of the intact ones). "
                    "Exit status: 0, or 1 when a shard is damaged or --verify finds problems, 2 on errors.")
    p.add_argument("shards", metavar="SHARDS", help="curation folder (written by siamfc curate)")
    p.add_argument("--out", metavar="DIR", help="also write stats.json (all figures, stable keys), PNG histograms, "
                                                "a per-class bar chart, a crop montage and index.html here")
    p.add_argument("--verify", action="store_true",
                   help="decode every crop (parallel) and check manifest entries against crops; reports missing, "
                        "orphan, undecodable or mis-sized records and exits with status 1 when any is found")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes for --verify (default: all cores)")
    p.add_argument("--montage", type=int, default=16, metavar="N", help="random records in the montage (0: none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the montage's random records (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_stats)
