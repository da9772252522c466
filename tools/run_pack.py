"""`siamfc pack`: the work (options in :mod:`.cmd_pack`; the checks and the zip in :mod:`siamfc.model.submission`)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from siamfc.curate.errors import UserError
from siamfc.model import submission as sub
from siamfc.tools.cmd_pack import benchmark_and_results


def cmd_pack(args: argparse.Namespace) -> int:
    benchmark, path = benchmark_and_results(args)
    benchmark = benchmark or (_dataset_benchmark(Path(args.dataset)) if args.dataset else None)
    results = sub.open_results(path, benchmark)
    benchmark = benchmark or sub.guess_benchmark(results)
    title = sub.BENCHMARKS[benchmark]
    sequences = sub.test_sequences(benchmark, args.dataset) if args.dataset else None
    out = None
    if not args.check:
        out = Path(args.out) if args.out else Path(f"{results.where.stem}_{benchmark}.zip")
        if out.is_dir():
            raise UserError(f"--out {out}: is a folder; give the zip's file name")
        if not out.parent.is_dir():
            raise UserError(f"--out {out}: no such folder {out.parent}")
    checked = sub.check_results(results, benchmark, sequences)
    for note in checked.notes:
        warnings.warn(note, stacklevel=1)
    if benchmark == sub.GOT10K:
        _protocol(args, results)
    where = f"{results.where} ({title}, {checked.sequences} test sequences)"
    if checked.problems:
        print("\n".join(checked.problems))
        print(f"siamfc pack: {len(checked.problems)} problem{'s' if len(checked.problems) > 1 else ''} in {where}"
              + ("" if args.check else "; no zip written"), file=sys.stderr)
        return 1
    if args.check:
        print(f"{where}: no problem found; the {title} server should take "
              + ("this zip" if results.is_zip else "a zip of them (siamfc pack without --check)"))
        return 0
    sub.write_pack(checked, out)
    print(f"{out}: {len(checked.members)} files for the {title} server ({checked.sequences} test sequences, "
          "checked); " + ("upload it at got-10k.aitestunion.com (submit instructions)" if benchmark == sub.GOT10K
                          else "submit it to the TrackingNet challenge at eval.tracking-net.org"))
    return 0


def _dataset_benchmark(root: Path) -> str:
    from siamfc.curate.sources import got10k, trackingnet

    if got10k.looks_like(root):
        return sub.GOT10K
    if trackingnet.looks_like(root):
        return sub.TRACKINGNET
    raise UserError(f"--dataset {root}: neither a GOT-10k nor a TrackingNet root; name the benchmark "
                     "(siamfc pack got10k|trackingnet ...)")


def _protocol(args: argparse.Namespace, results: sub.Results) -> None:
    """GOT-10k's protocol: a warning when the weights were trained on anything but GOT-10k train, a note when
    that cannot be checked, a line when it holds."""
    weights = Path(args.weights) if args.weights else sub.weights_of_eval(results)
    if weights is None:
        warnings.warn("cannot check what the results' weights were trained on (GOT-10k's test protocol allows "
                      "GOT-10k train only): give --weights", stacklevel=1)
        return
    found = sub.training_data(weights)
    if found.ok:
        print(found.line)
    else:
        warnings.warn(found.line, stacklevel=1)
