"""The `siamfc` command: one subcommand per step of the flow. Nothing imports this module.

Each step's subcommands live in their own ``tools/cmd_*.py`` module exposing
``register(subparsers)``; benchmarks live in ``tools/bench_*.py`` exposing ``register(bench_subparsers)``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds like Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM during the clean-up kills at once
    raise Terminated()


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` in the main thread (outside the main thread: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)  # None: set outside Python


@contextlib.contextmanager
def _one_line_warnings(command: str) -> Iterator[None]:
    """Warnings raised inside print as one ``siamfc COMMAND: warning: ...`` line each on stderr."""

    def show(message: Warning | str, *_: object, **__: object) -> None:
        print(f"siamfc {command}: warning: {message}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def describe_os_error(err: OSError) -> str:
    """One line for an ``OSError`` that names the path it is about: ``<path>: <reason>`` when known."""
    if err.filename is None or err.strerror is None:
        return str(err)
    path = f"{err.filename} -> {err.filename2}" if err.filename2 is not None else str(err.filename)
    return f"{path}: {err.strerror}"


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; errors the user can act on become one line and exit 2.

    Errors: ``CurationError``, ``ValueError`` and any ``OSError`` (a missing, unwritable or not-a-directory
    path, a full disk...) print ``siamfc CMD: error: ...`` and return 2. Ctrl-C (SIGINT) and SIGTERM stop the
    command the same way: the work in flight unwinds (joblib workers are stopped), one line says committed work
    is kept, and the status is 128 + the signal number, as a shell reports a process killed by it: 130 for
    SIGINT, 143 for SIGTERM.
    """
    args = build_parser().parse_args(argv)
    # joblib's advice when an interrupt or an error cancels queued work is noise to a user of the command
    warnings.filterwarnings("ignore", message=r".* You could benefit from adjusting the input task iterator",
                            category=UserWarning)
    try:
        with _sigterm_interrupts(), _one_line_warnings(args.command):
            return args.func(args) or 0
    except (CurationError, ValueError, OSError) as err:
        message = describe_os_error(err) if isinstance(err, OSError) else str(err)
        print(f"siamfc {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"siamfc {args.command}: interrupted; committed work is kept, rerun to resume", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT)


def run() -> None:
    """Console entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
