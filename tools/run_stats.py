"""`siamfc stats`: the work (options in :mod:`.cmd_stats`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from siamfc.curate.atomic import write_json_atomic
from siamfc.curate.manifest import load_manifest
from siamfc.curate.paths import check_folder
from siamfc.curate.stats import curation_figures, report_lines, sources_row, sources_table

STATS_JSON, VERIFY_JSON, HTML_PAGE, SOURCES_JSON = "stats.json", "verify.json", "index.html", "sources.json"


def cmd_stats(args: argparse.Namespace) -> int:
    roots = [check_folder(r) for r in args.shards]  # every one before any figures
    outs = _out_folders(Path(args.out), roots) if args.out else [None] * len(roots)
    status, all_figs = 0, []
    for i, (root, out) in enumerate(zip(roots, outs, strict=True)):
        if i:
            print()
        figs, code = curation_stats(root, out, args)
        all_figs.append(figs)
        status = max(status, code)
    if len(roots) > 1:
        print("\n" + "\n".join(sources_table(all_figs)))
        if args.out:
            write_json_atomic(Path(args.out) / SOURCES_JSON, [sources_row(f) for f in all_figs])
    return status


def _out_folders(out: Path, roots: list[Path]) -> list[Path]:
    """``out`` itself for one curation; ``out/<n>-<folder name>`` for several."""
    if len(roots) == 1:
        return [out]
    return [out / f"{i}-{root.resolve().name}" for i, root in enumerate(roots)]


def curation_stats(root: Path, out: Path | None, args: argparse.Namespace) -> tuple[dict, int]:
    """Print (and with ``out``, write) one curation's figures; returns them and the exit status."""
    manifest = load_manifest(root, intact_only=True)
    figs = curation_figures(root, manifest)
    print("\n".join(report_lines(figs)), flush=True)
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
    return figs, status
