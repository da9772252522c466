"""`siamfc synth` and `siamfc curate`: the work (options in :mod:`.cmd_curate`)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from siamfc.curate.format import CurationSettings
from siamfc.curate.run import CurationConfig, curate, source_of
from siamfc.curate.sources import source_format
from siamfc.curate.synth import default_config, generate_format


def curation_config(args: argparse.Namespace, source: Path, out: Path) -> CurationConfig:
    config = CurationConfig(
        source=source, out=out, splits=tuple(args.splits) if args.splits else None, format=args.format,
        max_snippets=args.max_snippets, workers=args.workers, backend=args.backend, scheduler=args.scheduler,
        progress=not args.no_progress, refresh=args.refresh, repair=args.repair,
    )
    fmt = source_of(config)
    settings = CurationSettings(
        shards=args.shards, encoding=args.encoding, quality=args.quality, max_reduction=args.max_reduction,
        classes=fmt.resolve_classes(args.classes) if args.classes else None, skip_generated=args.skip_generated,
        source=fmt.name,
    )
    return dataclasses.replace(config, format=fmt.name, settings=settings)


def run_curation(args: argparse.Namespace, source: Path, out: Path) -> None:
    summary = curate(curation_config(args, source, out))
    print("\n".join(summary.lines()))
    if summary.skipped:
        print(f"skip report: {out / 'skipped.jsonl'}")


def cmd_synth(args: argparse.Namespace) -> None:
    given = {k: getattr(args, k) for k in ("train_snippets", "val_snippets", "frames") if getattr(args, k) is not None}
    config = dataclasses.replace(default_config(args.format), **given, seed=args.seed)
    objects = generate_format(args.out, args.format, config, progress=True)
    print(f"wrote a synthetic {source_format(args.format).title} tree to {args.out}: {len(objects)} annotated "
          f"objects in {len({o.snippet for o in objects})} sequences")


def cmd_curate(args: argparse.Namespace) -> None:
    run_curation(args, Path(args.source), Path(args.out))
