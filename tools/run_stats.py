"""`siamfc stats`: the work (options in :mod:`.cmd_stats`)."""

from __future__ import annotations

import argparse
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
