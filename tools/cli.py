"""The `siamfc` command: one subcommand per step of the flow. Nothing imports this module.

Start-up stays fast because a command imports only what it runs: :data:`COMMANDS` names, for each subcommand,
the light ``tools/cmd_*.py`` module that declares its options (``add_options(command, parser)``, importing no
torch); that module points ``run`` at the function doing the work (``"module:function"``), imported only when
the command runs. ``siamfc --help`` imports no command module at all, ``siamfc track --help`` only
``cmd_track``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterable, Iterator
from types import FrameType

from siamfc.curate import catalogue
from siamfc.curate.errors import USER_ERRORS

BUG = "this is a bug in siamfc, not a mistake of yours: please report it with the traceback above"

COMMANDS = {  # command -> (module declaring its options, one-line help)
    "synth": ("cmd_curate", "write a small synthetic dataset in any layout siamfc reads (default an ImageNet VID "
                            "tree)"),
    "curate": ("cmd_curate", catalogue.CURATE_HELP),
    "stats": ("cmd_stats", "what a curation holds: tables, plots, montage, --verify integrity check"),
    "train": ("cmd_train", "train SiamFC on curated shards (resumable; torchrun for multi-GPU)"),
    "track": ("cmd_track", "track one target through a folder of frames"),
    "eval": ("cmd_track", catalogue.EVAL_HELP),
    "pack": ("cmd_pack", "check test results and zip them as the GOT-10k or TrackingNet server takes them"),
    "demo": ("cmd_demo", "synthesise small ImageNet VID and GOT-10k trees, then curate, inspect, train on the mix "
                         "and evaluate"),
    "bench": ("cmd_bench", "benchmarks, each against a floor measured in the same run"),
}


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, with the options of ``commands`` only (default: of all)."""
    parser = argparse.ArgumentParser(
        prog="siamfc", description=catalogue.DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = set(COMMANDS if commands is None else commands)
    for name, (module, text) in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text)
        if name in wanted:
            importlib.import_module(f"siamfc.tools.{module}").add_options(name, p)
    return parser


def requested(argv: list[str]) -> list[str]:
    """The subcommand of ``argv`` (its first word that is not an option), as a list; empty when there is none."""
    words = [a for a in argv if not a.startswith("-")][:1]
    return [w for w in words if w in COMMANDS]


def dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command: import the module its ``run`` names and call the function."""
    module, function = args.run.split(":")
    return getattr(importlib.import_module(module), function)(args) or 0


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

    Errors the user can act on (:data:`~siamfc.curate.errors.USER_ERRORS`: ``UserError``, ``CurationError`` and
    ``ShardError``, any ``OSError``: a missing, unwritable or not-a-directory path, a full disk...) print
    ``siamfc CMD: error: ...`` and return 2. Any other exception is a bug of the package: its traceback is printed,
    then one line saying so, and the status is 1. Ctrl-C (SIGINT) and SIGTERM stop the command the same way: the
    work in flight unwinds (joblib workers are stopped), one line says committed work is kept, and the status is
    128 + the signal number, as a shell reports a process killed by it: 130 for SIGINT, 143 for SIGTERM.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(requested(argv)).parse_args(argv)
    # joblib's advice when an interrupt or an error cancels queued work is noise to a user of the command
    warnings.filterwarnings("ignore", message=r".* You could benefit from adjusting the input task iterator",
                            category=UserWarning)
    try:
        with _sigterm_interrupts(), _one_line_warnings(args.command):
            return dispatch(args)
    except USER_ERRORS as err:
        message = describe_os_error(err) if isinstance(err, OSError) else str(err)
        print(f"siamfc {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"siamfc {args.command}: interrupted; committed work is kept, rerun to resume", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT)
    except Exception as err:  # not the user's mistake: a bug of the package
        traceback.print_exc()
        print(f"siamfc {args.command}: {BUG} ({type(err).__name__}: {err})", file=sys.stderr)
        return 1


def run() -> None:
    """Console entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
