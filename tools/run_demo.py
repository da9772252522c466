"""`siamfc demo`: the work (options in :mod:`.cmd_demo`): the chain's command lines, each run through the real
subcommand."""

from __future__ import annotations

import argparse
import shlex
import tempfile
from pathlib import Path

from siamfc.curate.atomic import writable_folder
from siamfc.curate.errors import UserError

from .cli import build_parser, dispatch  # the demo drives the real subcommands


def demo_steps(root: Path, epochs: int, pairs: int, quiet: bool) -> list[list[str]]:
    """The chain's command lines for a demo folder: two datasets (ImageNet VID and GOT-10k layouts), curated
    separately and mixed in training."""
    vid, got10k = root / "ILSVRC2015", root / "GOT-10k"
    vid_crops, got10k_crops, run = root / "vid-crops", root / "got10k-crops", root / "run"
    flags = ["--no-progress"] if quiet else []
    steps = []
    if not (vid / "Data").exists():
        steps.append(["synth", str(vid)])
    if not got10k.exists():
        steps.append(["synth", "--format", "got10k", str(got10k)])
    steps += [
        ["curate", str(vid), str(vid_crops), "--shards", "2", *flags],
        ["curate", str(got10k), str(got10k_crops), "--shards", "2", *flags],
        ["stats", str(vid_crops), str(got10k_crops), "--out", str(root / "stats"), "--verify", "--workers", "1",
         *flags],
        ["train", "--data", str(vid_crops), "--data", f"{got10k_crops}:0.5", "--out", str(run),
         "--epochs", str(epochs), "--pairs-per-epoch", str(pairs), "--val-pairs", str(max(pairs // 2, 8)), *flags,
         *(["--resume"] if (run / "checkpoint.pt").exists() else [])],
        ["eval", "--dataset", str(vid), "--weights", str(run / "weights.pt"), "--out", str(root / "eval"),
         "--name", "demo", *flags],
        ["eval", "--dataset", str(got10k / "val"), "--weights", str(run / "weights.pt"),
         "--out", str(root / "eval-got10k"), "--name", "demo", *flags],
    ]
    return steps


def cmd_demo(args: argparse.Namespace) -> int:
    """Run :func:`demo_steps` in ``--dir`` (default: a new temporary folder), stopping at the first that fails."""
    for option, value in (("--epochs", args.epochs), ("--pairs", args.pairs)):
        if value < 1:
            raise UserError(f"{option} must be at least 1, got {value}")
    root = writable_folder(Path(args.dir), "demo folder (--dir)") if args.dir else Path(
        tempfile.mkdtemp(prefix="siamfc-demo-"))
    parser = build_parser()
    for argv in demo_steps(root, args.epochs, args.pairs, args.no_progress):
        print(f"\n$ siamfc {shlex.join(argv)}", flush=True)
        step = parser.parse_args(argv)
        status = dispatch(step)
        if status:
            return status
    print(f"\ndemo done in {root}: vid-crops/ and got10k-crops/ (LMDB shards), stats/*/index.html, run/weights.pt "
          "(trained on both, VID twice as often), eval/demo.png, eval-got10k/demo.png")
    return 0
