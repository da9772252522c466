"""The catalogue of what siamfc reads: every dataset format and every evaluation benchmark, by name.

Pure data, importing nothing (no numpy, cv2, lmdb or torch), so that ``siamfc --help`` and every command's help
take their choices and their words from here without loading any dataset code. The sources registry
(:data:`siamfc.curate.sources.FORMATS`) is checked against :data:`FORMATS` when it is imported (name, title and
splits of each source's ``FORMAT``), and tests tie :data:`BENCHMARKS` to :data:`siamfc.curate.benchmarks.BENCHMARKS`
and the README's tables to both.
"""

from __future__ import annotations

from dataclasses import dataclass

TRAINING, BENCHMARK, OWN = "training", "benchmark", "own"  # what a format is read for, in the help's words


@dataclass(frozen=True)
class FormatEntry:
    """One dataset format as the help and the README name it."""

    name: str  # the --format value, curate.sources.FORMATS' key
    title: str  # the dataset's name: the source's FORMAT.title
    splits: tuple[str, ...]  # splits that can be curated, the default first: the source's FORMAT.splits
    kind: str  # TRAINING (a training set), BENCHMARK (an evaluation benchmark's layout), OWN (your own sequences)
    short: str  # the dataset's name in a sentence ("ImageNet VID", "COCO")


@dataclass(frozen=True)
class BenchmarkEntry:
    """One evaluation benchmark as the help names it."""

    name: str  # the --benchmark value, curate.benchmarks.BENCHMARKS' key
    title: str  # curate.benchmarks.Benchmark.title
    source: str  # the format that reads it (a FORMATS name)


FORMATS: dict[str, FormatEntry] = {f.name: f for f in (
    FormatEntry("vid", "ImageNet VID (ILSVRC2015)", ("train", "val"), TRAINING, "ImageNet VID"),
    FormatEntry("got10k", "GOT-10k", ("train", "val"), TRAINING, "GOT-10k"),
    FormatEntry("lasot", "LaSOT", ("train", "test"), TRAINING, "LaSOT"),
    FormatEntry("trackingnet", "TrackingNet", ("train",), TRAINING, "TrackingNet"),
    FormatEntry("coco", "COCO 2017", ("train", "val"), TRAINING, "COCO"),
    FormatEntry("otb", "OTB-2015", ("test",), BENCHMARK, "OTB"),
    FormatEntry("uav", "UAV123 / UAV20L", ("test",), BENCHMARK, "UAV123/UAV20L"),
    FormatEntry("nfs", "Need for Speed (NfS)", ("test",), BENCHMARK, "NfS"),
    FormatEntry("tc128", "Temple Color 128", ("test",), BENCHMARK, "TC128"),
    FormatEntry("tnl2k", "TNL2K", ("test", "train"), BENCHMARK, "TNL2K"),
    FormatEntry("sequences", "your own sequences (0-based boxes)", ("all",), OWN, "your own sequences"),
    FormatEntry("sequences1", "your own sequences (1-based boxes)", ("all",), OWN, "your own sequences"),
)}

BENCHMARKS: dict[str, BenchmarkEntry] = {b.name: b for b in (
    BenchmarkEntry("otb2015", "OTB-2015 (OTB-100)", "otb"),
    BenchmarkEntry("otb2013", "OTB-2013", "otb"),
    BenchmarkEntry("otb50", "OTB-50 (TB-50)", "otb"),
    BenchmarkEntry("uav123", "UAV123", "uav"),
    BenchmarkEntry("uav20l", "UAV20L", "uav"),
    BenchmarkEntry("nfs30", "NfS (30 fps)", "nfs"),
    BenchmarkEntry("nfs240", "NfS (240 fps)", "nfs"),
    BenchmarkEntry("tc128", "Temple Color 128", "tc128"),
    BenchmarkEntry("lasot", "LaSOT (protocol II test split)", "lasot"),
    BenchmarkEntry("lasot_ext", "LaSOT extension subset", "lasot"),
    BenchmarkEntry("tnl2k", "TNL2K (test)", "tnl2k"),
    BenchmarkEntry("got10k_val", "GOT-10k (val)", "got10k"),
    BenchmarkEntry("got10k_test", "GOT-10k (test, first box only)", "got10k"),
    BenchmarkEntry("trackingnet_test", "TrackingNet (test, first box only)", "trackingnet"),
    BenchmarkEntry("vid_val", "ImageNet VID (val)", "vid"),
    BenchmarkEntry("sequences", "your own sequences (0-based)", "sequences"),
    BenchmarkEntry("sequences1", "your own sequences (1-based)", "sequences1"),
)}


def _unique(words: list[str]) -> list[str]:
    return list(dict.fromkeys(words))


def dataset_names(*kinds: str) -> list[str]:
    """The datasets' names in a sentence, of the formats of ``kinds`` (default: all), in catalogue order, once each."""
    return _unique([f.short for f in FORMATS.values() if not kinds or f.kind in kinds])


def benchmark_datasets() -> list[str]:
    """The names in a sentence of the datasets the benchmarks are drawn from, in the benchmarks' order."""
    return _unique([FORMATS[b.source].short for b in BENCHMARKS.values()])


def listing(names: list[str], last: str = "and") -> str:
    """``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"


def format_choices_help() -> str:
    """Each ``--format`` value with its dataset's title, for the help."""
    return "; ".join(f"{f.name}: {f.title}" for f in FORMATS.values())


def split_defaults_help() -> str:
    """Each format's splits, the default first, for the help of ``--split``."""
    return "; ".join(f"{f.name} {', '.join(f.splits)}" for f in FORMATS.values())


def benchmark_choices_help() -> str:
    """Each ``--benchmark`` value with its title, for the help."""
    return "; ".join(f"{b.name}: {b.title}" for b in BENCHMARKS.values())


CURATE_HELP = (f"crop every visible object of a tracking dataset ({listing(dataset_names(), 'or')}) into LMDB shards "
               "(resumable)")
EVAL_HELP = (f"one-pass evaluation on any of {len(BENCHMARKS)} benchmarks ({listing(benchmark_datasets())}), each "
             "by its own toolkit's rules: figures, plots, result files")
DESCRIPTION = (f"tracking datasets ({listing(dataset_names(TRAINING))}; the benchmarks' layouts too) -> LMDB SiamFC "
               f"crops -> training pairs -> SiamFC training -> tracking and evaluation on {len(BENCHMARKS)} benchmarks "
               f"({listing(benchmark_datasets())})")
