"""`siamfc demo`: the whole chain on the embedded synthetic dataset, as the commands a user would type.

Each step runs the real subcommand (same parser, same code) and prints its command line first, so the
demo doubles as a walkthrough. Rerunning the demo in the same folder resumes: finished steps are cheap.
"""

from __future__ import annotations

import argparse
import shlex
import tempfile
from pathlib import Path

from siamfc.curate.atomic import writable_folder


def demo_steps(root: Path, epochs: int, pairs: int, quiet: bool) -> list[list[str]]:
    """The chain's command lines for a demo folder."""
    source, curation, run = root / "ILSVRC2015", root / "curation", root / "run"
    flags = ["--no-progress"] if quiet else []
    steps = []
    if not (source / "Data").exists():
        steps.append(["synth", str(source)])
    steps += [
        ["curate", str(source), str(curation), "--shards", "2", *flags],
        ["stats", str(curation), "--out", str(root / "stats"), "--verify", "--workers", "1", *flags],
        ["train", "--data", str(curation), "--out", str(run), "--epochs", str(epochs), "--pairs-per-epoch", str(pairs),
         "--val-pairs", str(max(pairs // 2, 8)), *flags, *(["--resume"] if (run / "checkpoint.pt").exists() else [])],
        ["eval", "--dataset", str(source), "--weights", str(run / "weights.pt"), "--out", str(root / "eval"),
         "--name", "demo", *flags],
    ]
    return steps


def cmd_demo(args: argparse.Namespace) -> int:
    from siamfc.tools.cli import build_parser, dispatch  # the demo drives the real subcommands

    for option, value in (("--epochs", args.epochs), ("--pairs", args.pairs)):
        if value < 1:
            raise ValueError(f"{option} must be at least 1, got {value}")
    root = writable_folder(Path(args.dir), "demo folder (--dir)") if args.dir else Path(
        tempfile.mkdtemp(prefix="siamfc-demo-"))
    parser = build_parser()
    for argv in demo_steps(root, args.epochs, args.pairs, args.no_progress):
        print(f"\n$ siamfc {shlex.join(argv)}", flush=True)
        step = parser.parse_args(argv)
        status = dispatch(step)
        if status:
            return status
    print(f"\ndemo done in {root}: curation/ (LMDB shards), stats/index.html, run/weights.pt, eval/demo.png")
    return 0


def add_options(command: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", help="work folder (default: a new temporary folder); rerun to resume")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (default 2: a demo, not a model)")
    p.add_argument("--pairs", type=int, default=64, help="training pairs per epoch (default 64)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run="siamfc.tools.cmd_demo:cmd_demo")
