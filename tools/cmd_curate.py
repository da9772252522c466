"""`siamfc synth` and `siamfc curate`."""

from __future__ import annotations

import argparse
from pathlib import Path

from siamfc.curate.format import CurationSettings
from siamfc.curate.run import CurationConfig, curate, resolve_classes
from siamfc.curate.synth import SynthConfig, generate


def add_curation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", dest="splits", action="append", choices=["train", "val"],
                   help="split to curate (repeatable; default: train and val)")
    p.add_argument("--classes", nargs="+", help="keep only these classes (WordNet ids or names)")
    p.add_argument("--max-snippets", type=int, help="curate at most this many snippets (sorted by id)")
    p.add_argument("--skip-generated", action="store_true", help="leave out interpolated boxes (generated=1)")
    p.add_argument("--encoding", choices=["jpeg", "raw"], default="jpeg", help="crop encoding (default jpeg)")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality of stored crops (default 90)")
    p.add_argument("--shards", type=int, default=8, help="number of LMDB shards (default 8)")
    p.add_argument("--workers", type=int, default=1, help="joblib worker processes (default 1)")
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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def curation_config(args: argparse.Namespace, source: Path, out: Path) -> CurationConfig:
    settings = CurationSettings(
        shards=args.shards, encoding=args.encoding, quality=args.quality, max_reduction=args.max_reduction,
        classes=resolve_classes(args.classes), skip_generated=args.skip_generated,
    )
    return CurationConfig(
        source=source, out=out, splits=tuple(args.splits or ("train", "val")), max_snippets=args.max_snippets,
        workers=args.workers, backend=args.backend, scheduler=args.scheduler, progress=not args.no_progress,
        refresh=args.refresh, repair=args.repair, settings=settings,
    )


def run_curation(args: argparse.Namespace, source: Path, out: Path) -> None:
    summary = curate(curation_config(args, source, out))
    print("\n".join(summary.lines()))
    if summary.skipped:
        print(f"skip report: {out / 'skipped.jsonl'}")


def cmd_synth(args: argparse.Namespace) -> None:
    config = SynthConfig(train_snippets=args.train_snippets, val_snippets=args.val_snippets,
                         frames=args.frames, seed=args.seed)
    objects = generate(args.out, config, progress=True)
    print(f"wrote a synthetic ILSVRC2015 tree to {args.out}: {len(objects)} objects in "
          f"{len({o.snippet for o in objects})} snippets")


def cmd_curate(args: argparse.Namespace) -> None:
    run_curation(args, Path(args.source), Path(args.out))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="write a small synthetic ILSVRC2015-layout dataset")
    p.add_argument("out", help="folder to create")
    p.add_argument("--train-snippets", type=int, default=SynthConfig.train_snippets)
    p.add_argument("--val-snippets", type=int, default=SynthConfig.val_snippets)
    p.add_argument("--frames", type=int, default=SynthConfig.frames, help="frames per snippet")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("curate", help="crop every VID object into LMDB shards (resumable)")
    p.add_argument("source", help="ILSVRC2015 root (holding Annotations/VID and Data/VID)")
    p.add_argument("out", help="output folder for the shards; rerun the same command to resume")
    add_curation_options(p)
    p.set_defaults(func=cmd_curate)
