"""`siamfc stats`: options (the work is in :mod:`.run_stats`)."""

from __future__ import annotations

import argparse
import os


def add_options(command: str, p: argparse.ArgumentParser) -> None:
    p.description = ("Print figures of a curation from its manifest alone (fast, no crop is decoded): "
                     "source, snippets, tracks, records per split and class, track lengths, frame gaps, box "
                     "sizes, s_z, padding, flags, objects not visible, skips by reason, bytes per record. "
                     "Says so when the curation is partial, and names damaged shards (the figures are then of "
                     "the intact ones). "
                     "Exit status: 0, or 1 when a shard is damaged or --verify finds problems, 2 on errors.")
    p.add_argument("shards", metavar="SHARDS", nargs="+",
                   help="curation folder (written by siamfc curate); several: each one's figures, then a table of "
                        "the curations side by side (one per source, e.g. the curations a mixed training reads)")
    p.add_argument("--out", metavar="DIR", help="also write stats.json (all figures, stable keys), PNG histograms, "
                                                "a per-class bar chart, a crop montage and index.html here (several "
                                                "curations: one subfolder each, and sources.json)")
    p.add_argument("--verify", action="store_true",
                   help="decode every crop (parallel) and check manifest entries against crops; reports missing, "
                        "orphan, undecodable or mis-sized records and exits with status 1 when any is found")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes for --verify (default: all cores)")
    p.add_argument("--montage", type=int, default=16, metavar="N", help="random records in the montage (0: none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the montage's random records (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run="siamfc.tools.run_stats:cmd_stats")
