"""The `siamfc` command: one subcommand per step of the flow. Nothing imports this module.

Each step's subcommands live in their own ``tools/cmd_*.py`` module exposing
``register(subparsers)``; benchmarks live in ``tools/bench_*.py`` exposing ``register(bench_subparsers)``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from siamfc.curate.errors import CurationError

_TOOLS = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])]
COMMAND_MODULES = sorted(n for n in _TOOLS if n.startswith("cmd_"))
BENCH_MODULES = sorted(n for n in _TOOLS if n.startswith("bench_"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="siamfc", description="ImageNet VID -> LMDB SiamFC crops -> pairs -> SiamFC training and tracking")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"siamfc.tools.{name}").register(sub)
    bench = sub.add_parser("bench", help="benchmarks, each against a floor measured in the same run")
    bench_sub = bench.add_subparsers(dest="what", required=True, metavar="WHAT")
    for name in BENCH_MODULES:
        importlib.import_module(f"siamfc.tools.{name}").register(bench_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; errors the user can act on become one line and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (CurationError, FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"siamfc {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"siamfc {args.command}: interrupted; committed work is kept, rerun to resume", file=sys.stderr)
        return 130


def run() -> None:
    """Console entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
