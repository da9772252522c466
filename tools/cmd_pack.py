"""`siamfc pack`: options (the work is in :mod:`.run_pack`)."""

from __future__ import annotations

import argparse

from siamfc.curate.errors import UserError

BENCHMARK_CHOICES = ("got10k", "trackingnet")


def add_options(command: str, p: argparse.ArgumentParser) -> None:
    p.description = ("Write the zip GOT-10k's or TrackingNet's evaluation server takes for its test split, after a "
                     "local check (the servers reject without saying why): every test sequence present, at the "
                     "zip's top level, one comma-separated x,y,w,h of finite numbers with positive size per frame, "
                     "the first box the given one; GOT-10k also <seq>_time.txt. Each problem is one line naming "
                     "the sequence. Exit status: 0, 1 when the check finds problems (no zip written), 2 on errors.")
    p.add_argument("words", nargs="*", metavar="[BENCHMARK] RESULTS",
                   help="the server, got10k or trackingnet (default: from --dataset's layout, else from the "
                        "results), then the results in the got10k toolkit's layout: siamfc eval's --out folder (or "
                        "its results/, results/GOT-10k/, the tracker's folder), a folder another tool wrote in that "
                        "layout (TrackingNet: <video>.txt files, or TrackingNet/<tracker>/<video>.txt), or a zip "
                        "(with --check)")
    p.add_argument("--out", metavar="ZIP", help="the zip to write (default ./<tracker folder>_<benchmark>.zip)")
    p.add_argument("--dataset", metavar="ROOT",
                   help="the dataset root (GOT-10k: holding test/, with test/list.txt or GOT-10k_Test_* folders; "
                        "TrackingNet: holding TEST/anno, TEST/frames): which sequences, their frame counts and "
                        "first boxes; without it these are checked only as far as the results allow")
    p.add_argument("--check", nargs="?", const=True, default=False, metavar="RESULTS",
                   help="only check the results (a folder or a zip), write nothing: siamfc pack --check RESULTS")
    p.add_argument("--weights", metavar="FILE",
                   help="GOT-10k: the weights the results come from, to check they were trained on GOT-10k train "
                        "only as its protocol asks (read from their run's config.json; default: the weights "
                        "siamfc eval recorded beside the results)")
    p.set_defaults(run="siamfc.tools.run_pack:cmd_pack")


def benchmark_and_results(args: argparse.Namespace) -> tuple[str | None, str]:
    """``(benchmark or None, results)`` from the words and ``--check RESULTS``; UserError when they are not
    ``[BENCHMARK] RESULTS``."""
    words = list(args.words) + ([args.check] if isinstance(args.check, str) else [])
    benchmark = words.pop(0) if words and words[0] in BENCHMARK_CHOICES else None
    if benchmark is None and len(words) == 2 and words[1] in BENCHMARK_CHOICES:  # --check got10k RESULTS
        benchmark = words.pop(1)
    if len(words) != 1:
        raise UserError(f"expected [{'|'.join(BENCHMARK_CHOICES)}] RESULTS, got {' '.join(args.words) or 'nothing'}"
                         + (f" and --check {args.check}" if isinstance(args.check, str) else ""))
    return benchmark, words[0]
