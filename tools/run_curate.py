"""`siamfc synth` and `siamfc curate`: the work (options in :mod:`.cmd_curate`)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from siamfc.curate.errors import UserError
from siamfc.curate.paths import check_folder
from siamfc.curate.run import CurationConfig, curate, source_of
from siamfc.curate.schema import CurationSettings
from siamfc.curate.sources import source_format
from siamfc.curate.synth import default_config, generate_format


def curation_config(args: argparse.Namespace, source: Path, out: Path) -> CurationConfig:
    config = CurationConfig(
        source=source, out=out, splits=tuple(args.splits) if args.splits else None, format=args.format,
        max_snippets=args.max_snippets, workers=args.workers, backend=args.backend, scheduler=args.scheduler,
        progress=not args.no_progress, refresh=args.refresh, repair=args.repair, prune=args.prune,
        list_unused=args.list_unused,
    )
    fmt = source_of(config)
    settings = CurationSettings(
        shards=args.shards, encoding=args.encoding, quality=args.quality, max_reduction=args.max_reduction,
        classes=fmt.resolve_classes(args.classes) if args.classes else None, skip_generated=args.skip_generated,
        source=fmt.name,
    )
    return dataclasses.replace(config, format=fmt.name, settings=settings)


def run_curation(args: argparse.Namespace, source: Path, out: Path) -> None:
    config = curation_config(args, source, out)
    summary = curate(config)
    print("\n".join(summary.lines()))
    if config.list_unused and summary.files.unused:
        print("\n".join(f"unused    {path} ({kind})" for path, kind in summary.files.unused))
    if summary.skipped:
        print(f"skip report: {out / 'skipped.jsonl'}")


def cmd_synth(args: argparse.Namespace) -> None:
    given = {k: getattr(args, k) for k in ("train_snippets", "val_snippets", "frames") if getattr(args, k) is not None}
    for key, least in (("train_snippets", 0), ("val_snippets", 0), ("frames", 1)):
        if given.get(key, least) < least:
            raise UserError(f"--{key.replace('_', '-')} must be at least {least}, got {given[key]}")
    config = dataclasses.replace(default_config(args.format), **given, seed=args.seed)
    objects = generate_format(args.out, args.format, config, progress=True)
    images = sum(1 for p in Path(args.out).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    print(f"wrote a synthetic {source_format(args.format).title} tree to {args.out}: {images} images, "
          f"{len(objects)} annotated objects in {len({o.snippet for o in objects})} sequences")


def cmd_curate(args: argparse.Namespace) -> None:
    run_curation(args, check_folder(args.source), Path(args.out))
