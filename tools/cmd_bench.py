"""`siamfc bench ...`: the options of every benchmark (each benchmark's work is in its ``tools/bench_*.py``)."""

from __future__ import annotations

import argparse

from siamfc.curate import catalogue

from .cmd_curate import FORMATS

SAMPLER_MODES = ("workers", "shift", "device", "workers-nocrc", "device-nocrc")  # keys of bench_sampler.MODES


def add_options(command: str, p: argparse.ArgumentParser) -> None:
    bench = p.add_subparsers(dest="what", required=True, metavar="WHAT")

    b = bench.add_parser("curate", help="curation ms/frame against plain cv2.imread of the same frames")
    b.add_argument("source", nargs="?", help="dataset root of any format siamfc reads (default: synthesise one)")
    b.add_argument("--format", default="vid", choices=FORMATS,
                   help="layout of the synthetic tree (default vid); a given SOURCE's layout is recognised")
    b.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    b.add_argument("--max-frames", type=int, default=2000, help="frames to time (default 2000)")
    b.add_argument("--max-reduction", type=int, default=8, choices=[1, 2, 4, 8])
    b.add_argument("--dask", action="store_true", help="also time a Dask LocalCluster with the largest worker count")
    b.add_argument("--repeat", type=int, default=3,
                   help="alternating repetitions; the best of each is kept (the floor runs in fresh processes whose "
                        "heap is kept, so one repetition gives the same ratio)")
    b.set_defaults(run="siamfc.tools.bench_curate:cmd_bench_curate")

    b = bench.add_parser("decode", help="strict frame decode ms/frame against plain cv2.imdecode of the same frames")
    b.add_argument("--frames", type=int, default=40, help="frames per set (default 40)")
    b.add_argument("--repeat", type=int, default=5, help="alternating decodes per frame; the best of each is kept")
    b.set_defaults(run="siamfc.tools.bench_decode:cmd_bench_decode")

    b = bench.add_parser("sampler", help="pair-sampler pairs/s against decoding the same stored crops")
    b.add_argument("shards", nargs="?", help="curation root (default: synthesise and curate one)")
    b.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="DataLoader workers (default 0 1 2)")
    b.add_argument("--pairs", type=int, default=3000, help="pairs per timed run (default 3000)")
    b.add_argument("--batch-size", type=int, default=8, help="batch size (default 8, as SiamFC)")
    b.add_argument("--mode", nargs="+", choices=SAMPLER_MODES, default=list(SAMPLER_MODES[:3]),
                   help="what to time: workers (SiamFC augmentation in the workers), shift (translation only), "
                        "device (workers decode, augmentation on the device); workers-nocrc and device-nocrc skip "
                        "the checksum check of each crop read (default: workers shift device)")
    b.add_argument("--device", default="auto", help="device of the device-mode augmentation (default: cuda if any)")
    b.add_argument("--repeats", type=int, default=5, help="rounds of floor then loader; medians (default 5)")
    b.add_argument("--split", action="append", choices=["train", "val"], help="split(s) to sample (default train)")
    b.set_defaults(run="siamfc.tools.bench_sampler:cmd_bench_sampler")

    b = bench.add_parser("stats", help="stats of a generated 1 M record manifest against np.load / np.sort floors")
    b.add_argument("--records", type=int, default=1_000_000, help="manifest rows to generate (default 1,000,000)")
    b.add_argument("--repeat", type=int, default=3, help="runs per timing, best kept (default 3)")
    b.set_defaults(run="siamfc.tools.bench_stats:cmd_bench_stats")

    b = bench.add_parser("track", help="tracker fps per backend beside the reference (siamfc-pytorch's procedure), "
                                       "time per stage")
    b.add_argument("--dataset", help="a benchmark's dataset root, recognised from its layout ("
                   + catalogue.listing(catalogue.benchmark_datasets(), "or") + "); default: synthesise frames")
    b.add_argument("--weights", help="weights to load (default: a hand-set template-matching net)")
    b.add_argument("--frames", type=int, default=40, help="frames to time (default 40)")
    b.add_argument("--scales", type=int, default=3, help="search scales (default 3)")
    b.add_argument("--rounds", type=int, default=3, help="alternating rounds; each tracker's best counts (default 3)")
    b.add_argument("--cpu-only", action="store_true", help="skip CUDA even when present")
    b.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    b.set_defaults(run="siamfc.tools.bench_track:cmd_bench_track")

    b = bench.add_parser("train", help="training pairs/s and data-wait share against a fixed-batch floor")
    b.add_argument("data", nargs="?", help="curation folder (default: synthesise and curate one)")
    b.add_argument("--batch-size", type=int, default=8, help="pairs per step (default 8)")
    b.add_argument("--steps", type=int, default=10, help="timed steps per measurement (default 10)")
    b.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="loader processes to try (default 0 2)")
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: CUDA when present")
    b.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision (default: on for CUDA)")
    b.add_argument("--warmup", type=int, default=2, help="untimed steps per loader setting first (default 2)")
    b.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    b.set_defaults(run="siamfc.tools.bench_train:cmd_bench_train")

    b = bench.add_parser("startup", help="seconds for every command to answer --help, against starting Python")
    b.add_argument("--repeat", type=int, default=3, help="runs per command; the best counts (default 3)")
    b.set_defaults(run="siamfc.tools.bench_startup:cmd_bench_startup")
