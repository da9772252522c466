"""`siamfc track` and `siamfc eval`: options (the work is in :mod:`.run_track`).

The tracker's options are generated from :class:`~siamfc.model.tracker_config.TrackerConfig`, so every field of
it is an option (``--scale-step``, ``--min-scale``, ...) with its default and help.
"""

from __future__ import annotations

import argparse
import re

from siamfc.curate import catalogue
from siamfc.curate.errors import UserError
from siamfc.model.tracker_config import BACKENDS, TrackerConfig

BENCHMARK_NAMES = tuple(catalogue.BENCHMARKS)  # the registry's names from the torch-free catalogue: importing
# siamfc.curate.benchmarks here would put the sources on every command's --help path (tests check the two agree)


def add_tracker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", help="our checkpoint.pt / weights.pt, or a public SiamFC state dict (see "
                                     "siamfc.model.weights)")
    p.add_argument("--backend", choices=BACKENDS, default="torch",
                   help="what runs the network: torch (CPU or CUDA), onnxruntime (CPU, float32, same boxes) or "
                        "onnxruntime-int8 (CPU, 8-bit search branch: faster, boxes close but not equal); the "
                        "onnxruntime ones need pip install 'siamfc[onnx]' (default torch)")
    p.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    group = p.add_argument_group("tracker options (TrackerConfig)")
    for name, kind, default, text in TrackerConfig.options():
        group.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=default,
                           metavar=name.upper(), help=f"{text} (default {default})")


def tracker_config(args: argparse.Namespace) -> TrackerConfig:
    """The tracker options as a config; UserError naming the first bad option (``--scale-step``, ...)."""
    try:
        return TrackerConfig(**{name: getattr(args, name) for name, *_ in TrackerConfig.options()})
    except ValueError as err:
        raise UserError(re.sub(r"\bTrackerConfig\.(\w+)", lambda m: "--" + m.group(1).replace("_", "-"),
                                str(err))) from None


def add_options(command: str, p: argparse.ArgumentParser) -> None:
    if command == "track":
        p.add_argument("--frames", required=True,
                       help="folder of frames (sorted by name), or an OTB sequence folder")
        p.add_argument("--init", required=True,
                       help="first-frame box x,y,w,h (0-based pixels); write --init=-4,10,30,20 when x is negative")
        p.add_argument("--out", default="boxes.txt",
                       help="box file to write, one x,y,w,h per frame (default boxes.txt)")
        p.add_argument("--video", help="draw the boxes into OUT.mp4 (or .avi/.mov/.mkv), or into a folder of JPEGs")
        p.add_argument("--fps", type=float, default=25.0, help="frame rate of --video (default 25)")
        p.add_argument("--show", action="store_true", help="show frames in a window (needs a GUI build of OpenCV)")
        p.set_defaults(run="siamfc.tools.run_track:cmd_track")
    else:
        p.add_argument("--dataset", help="a benchmark's dataset root (" + catalogue.listing(
                           catalogue.benchmark_datasets(), "or") + "), read through its source (see --benchmark); "
                           "frames are matched to ground-truth lines by number")
        p.add_argument("--benchmark", choices=BENCHMARK_NAMES, metavar="NAME",
                       help="which benchmark the dataset holds (default: recognised from its layout): "
                            + catalogue.benchmark_choices_help())
        p.add_argument("--out", default="eval", help="report folder (default ./eval)")
        p.add_argument("--name", default="SiamFC", help="run name: report file names, result folder, plot legend")
        p.add_argument("--workers", type=int, default=1,
                       help="track sequences in N processes, each with its own tracker and its share of the "
                            "threads (default 1)")
        p.add_argument("--force", action="store_true",
                       help="redo every sequence (default: a rerun takes the sequences this evaluation recorded)")
        p.add_argument("--compare", nargs="+", metavar="PATH",
                       help="earlier reports (JSON) or published toolkit result folders to draw in the same plots")
        p.add_argument("--attributes", metavar="DIR", help="per-attribute figures from the benchmark's attribute "
                       "files in DIR (default: UAV123's anno/UAV123/att under --dataset; LaSOT: its toolkit's)")
        p.add_argument("--max-sequences", type=int, help="evaluate only the first N sequences")
        p.add_argument("--no-progress", action="store_true")
        p.set_defaults(run="siamfc.tools.run_track:cmd_eval")
    add_tracker_options(p)
