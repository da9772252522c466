"""`siamfc bench startup`: how long every command takes to answer ``--help``, against starting Python itself.

Each command runs in a fresh interpreter (``python -m siamfc.tools.cli CMD --help``), as a user's shell starts it;
the floor is ``python -c pass`` timed the same way in the same run. The best of ``--repeat`` runs counts. Also
says which heavy modules (torch, matplotlib, joblib, cv2) each command's ``--help`` imported.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from .cli import COMMANDS

HEAVY = ("torch", "matplotlib", "joblib", "cv2", "numpy")
PROBE = ("import sys, runpy; sys.argv = ['siamfc', *{argv!r}]\n"
         "try:\n    runpy.run_module('siamfc.tools.cli', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "print('IMPORTED', *[m for m in {heavy!r} if m in sys.modules], file=sys.stderr)")


def best_seconds(argv: list[str], repeat: int) -> float:
    """Best wall time of ``repeat`` fresh interpreters running ``argv``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def imported(words: list[str]) -> list[str]:
    """The heavy modules imported by ``siamfc WORDS``."""
    probe = PROBE.format(argv=words, heavy=HEAVY)
    err = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False).stderr
    line = next((x for x in err.splitlines() if x.startswith("IMPORTED")), "IMPORTED")
    return line.split()[1:]


def cmd_bench_startup(args: argparse.Namespace) -> None:
    floor = best_seconds([sys.executable, "-c", "pass"], args.repeat)
    print(f"floor, starting Python (python -c pass): {1e3 * floor:.0f} ms; best of {args.repeat} runs each")
    print(f"{'command':26} {'seconds':>8} {'x floor':>8}  heavy modules imported")
    commands = [[c] for c in COMMANDS] + [["bench", "track"], ["bench", "train"]]
    for words in [[]] + commands:
        seconds = best_seconds([sys.executable, "-m", "siamfc.tools.cli", *words, "--help"], args.repeat)
        label = " ".join(["siamfc", *words, "--help"])
        print(f"{label:26} {seconds:8.2f} {seconds / floor:8.1f}  {', '.join(imported([*words, '--help'])) or '-'}")
