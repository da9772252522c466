"""`siamfc demo`: the whole chain on two embedded synthetic datasets, as the commands a user would type.

Each step runs the real subcommand (same parser, same code) and prints its command line first, so the
demo doubles as a walkthrough. Rerunning the demo in the same folder resumes: finished steps are cheap.
This module declares the options; :mod:`.run_demo` does the work.
"""

from __future__ import annotations

import argparse


def add_options(command: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", help="work folder (default: a new temporary folder); rerun to resume")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (default 2: a demo, not a model)")
    p.add_argument("--pairs", type=int, default=64, help="training pairs per epoch (default 64)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run="siamfc.tools.run_demo:cmd_demo")
