"""`siamfc synth` and `siamfc curate`: options (the work is in :mod:`.run_curate`)."""

from __future__ import annotations

import argparse

from siamfc.curate import catalogue

FORMATS = tuple(catalogue.FORMATS)  # curate.sources.FORMATS' names, from the catalogue: --help imports no dataset code


def add_curation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, help="the dataset's layout (default: recognised from the tree; "
                   "sequences and sequences1 only when named): " + catalogue.format_choices_help())
    p.add_argument("--split", dest="splits", action="append",
                   help="split to curate (repeatable; default: every split the format has annotations for: "
                        + catalogue.split_defaults_help() + ")")
    p.add_argument("--classes", nargs="+", help="keep only these classes (the dataset's class names; "
                                                  "VID: WordNet ids or names)")
    p.add_argument("--max-snippets", type=int, help="curate at most this many snippets (sorted by id)")
    p.add_argument("--skip-generated", action="store_true", help="leave out interpolated boxes (generated=1)")
    p.add_argument("--encoding", choices=["jpeg", "raw"], default="jpeg", help="crop encoding (default jpeg)")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality of stored crops (default 90)")
    p.add_argument("--shards", type=int, default=8, help="number of LMDB shards (default 8)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: as many as the cores this process may use; the summary's time "
                        "line says how many ran)")
    p.add_argument("--backend", choices=["loky", "dask"], default="loky",
                   help="where snippets are processed: local processes (loky) or a Dask cluster")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786); without it --backend dask "
                                       "starts a LocalCluster of --workers processes")
    p.add_argument("--max-reduction", type=int, default=8, choices=[1, 2, 4, 8],
                   help="largest JPEG decode reduction allowed (1 = always decode at full size)")
    p.add_argument("--refresh", action="store_true",
                   help="also redo committed snippets whose input files (names, sizes, modification times) changed "
                        "since they were committed, e.g. after replacing a bad frame or correcting an XML")
    p.add_argument("--repair", action="store_true",
                   help="set damaged shards aside (renamed shard-NNN.lmdb.damaged-*, kept) and redo the snippets "
                        "they held; without it a damaged shard stops the run with one line naming it")
    p.add_argument("--prune", action="store_true",
                   help="drop the records of committed snippets (of the splits curated) whose folders are gone from "
                        "the source, and say how many; without it they stay and the summary names them "
                        "(not with --max-snippets, which cannot tell what is gone)")
    p.add_argument("--list-unused", action="store_true",
                   help="after the summary, name every file under the source that the run did not read or report, "
                        "with its kind (another split, a file the layout leaves alone, not in the layout)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_options(command: str, p: argparse.ArgumentParser) -> None:
    if command == "synth":
        p.add_argument("out", help="folder to create")
        p.add_argument("--format", choices=FORMATS, default="vid",
                       help="the layout to write (default vid: an ILSVRC2015 tree): " + catalogue.format_choices_help())
        p.add_argument("--train-snippets", type=int, default=None,
                       help="training sequences (COCO: train2017 images) (default: the format's own)")
        p.add_argument("--val-snippets", type=int, default=None,
                       help="val or test sequences (COCO: val2017 images; TrackingNet: TEST videos) "
                            "(default: the format's own)")
        p.add_argument("--frames", type=int, default=None,
                       help="frames per sequence; VID: every second snippet has 4 fewer (at least 1); TrackingNet: "
                            "the last training video lacks its middle frame file, as real ones may; COCO: images "
                            "drawn from one scene (default: the format's own)")
        p.add_argument("--seed", type=int, default=0)
        p.set_defaults(run="siamfc.tools.run_curate:cmd_synth")
    else:
        p.add_argument("source", help="dataset root: " + catalogue.listing(catalogue.dataset_names(), "or")
                       + " (see --format and the README's formats)")
        p.add_argument("out", help="output folder for the shards; rerun the same command to resume")
        add_curation_options(p)
        p.set_defaults(run="siamfc.tools.run_curate:cmd_curate")
