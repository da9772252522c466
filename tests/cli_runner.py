"""The one way tests run the ``siamfc`` command: in this process by default (captured stdout, stderr, exit status),
or in a fresh interpreter when a test needs a real process (a resource limit, a signal, what a fresh import loads)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings
from pathlib import Path

from siamfc.tools.cli import main


def run_cli(*args: str | Path, fresh: bool = False, prelude: str | None = None, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """``siamfc ARGS`` as a :class:`subprocess.CompletedProcess` (``returncode``, ``stdout``, ``stderr`` as text).

    In this process unless ``fresh`` (or a ``prelude``, Python run before the command in the fresh interpreter: a
    resource limit, say, or ``cwd``). In-process, warnings are printed to the captured stderr as
    ``Category: message`` lines, as a fresh interpreter would show them (every time; ResourceWarning not, as
    there), and ``SystemExit`` (``--help``, argparse's errors) becomes the exit status."""
    argv = [str(a) for a in args]
    if fresh or prelude is not None or cwd is not None:
        script = (prelude or "") + f"\nimport sys\nfrom siamfc.tools.cli import main\nsys.exit(main({argv!r}))\n"
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd,
                              timeout=timeout)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ResourceWarning)  # raised when the GC runs, by whatever earlier code leaked
        warnings.showwarning = lambda message, category, *_: print(f"{category.__name__}: {message}",
                                                                   file=sys.stderr)
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            if exit_.code is not None and not isinstance(exit_.code, int):
                print(exit_.code, file=sys.stderr)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Assert a run ended with exit status 2 and one error line containing ``needles``; return the line."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
