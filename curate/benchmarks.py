"""The evaluation benchmarks: one registry entry per benchmark, beside the catalogue of dataset formats.

A :class:`Benchmark` says which source reads the benchmark (a :data:`~siamfc.curate.sources.FORMATS` name), which
of the source's sequences it evaluates (its split, and a subset of names for OTB-2013 and OTB-50), which figures it
reports and by which toolkit's rules, where the toolkit expects result files and in which pixel base, and what a
frame without a visible target counts for. Evaluation (:mod:`siamfc.model.eval_sequences`,
:mod:`siamfc.model.evaluate`) reads every benchmark through its source and looks everything else up here, so adding
a benchmark is one entry (and, for a new layout, one source). Pure data and lookups: no torch, no parsing.

The not-visible rule (:attr:`Benchmark.not_visible`), per toolkit:

- ``"fail"``: a frame whose ground truth is not a box (NaN: not visible, not annotated) counts in each sequence's
  frame total and never succeeds: OTB's and TC128's toolkits (got10k's ``ExperimentOTB`` scores every row, and an
  IoU or centre error computed against NaN passes no threshold), LaSOT's, LaSOT-ext's and TNL2K's MATLAB toolkits
  (``calc_seq_err_robust.m`` marks fully occluded / out-of-view / zero-size frames as failures, divides by all
  frames; pytracking's ``extract_results`` does the same).
- ``"drop"``: such a frame is left out of the sequence: got10k's ``ExperimentUAV123`` (``valid = ~isnan(anno)``),
  GOT-10k's curves (the frames ``cover.label`` marks 0; its AO and SR have their own rule), VID val (frames where
  the target is not annotated) and your own sequences (``NaN`` lines).
- ``"placeholder"``: the frame is scored against the box the annotation writes there: NfS, whose VATIC lines keep
  the last position on ``lost`` frames; got10k's ``NfS`` reader takes columns 1-4 of every line, lost or not, and
  pytracking's likewise, so their figures score those frames against that box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import CurationError
from .sources import FORMATS, detect_format
from .sources import got10k as got10k_source
from .sources import lasot as lasot_source
from .sources import otb as otb_source
from .sources import trackingnet as trackingnet_source
from .sources.base import Sequence, SequenceSearch

FIGURES = ("ope", "lasot", "got10k", "trackingnet", "vid")
NOT_VISIBLE = ("fail", "drop", "placeholder")
RESULT_LAYOUTS = ("otb", "got10k", "flat")  # <seq>.txt + times/<seq>_time.txt; <seq>/<seq>_001.txt + _time.txt;
# flat: <video>.txt (comma-separated) + times/<video>_time.txt, which siamfc pack trackingnet reads


@dataclass(frozen=True)
class Benchmark:
    """One evaluation benchmark: how to read it, score it and where its results go."""

    name: str  # the --benchmark value
    title: str
    source: str  # a curate.sources.FORMATS name
    split: str  # the source's split evaluated ("test", "val", "all": every video; see select())
    id_prefix: str  # sequence ids of the benchmark start with it ("test/UAV123/"); "" for all
    name_parts: int  # leading parts of a sequence id dropped for its name ("test/UAV123/bird1_1" -> 2: "bird1_1")
    result_dir: tuple[str, ...]  # the toolkit's result folder under the result root, e.g. ("NfS", "30")
    figures: str = "ope"  # one of FIGURES
    not_visible: str = "fail"  # one of NOT_VISIBLE (module docstring)
    one_based: bool = False  # results written back 1-based, as the dataset's own boxes
    subset: tuple[str, ...] = ()  # sequence folders of the benchmark (OTB-2013, OTB-50); () for all
    scored: bool = True  # False: first box only (GOT-10k test, TrackingNet test): tracked and written, not scored
    result_layout: str = "otb"  # one of RESULT_LAYOUTS
    pack: str = ""  # the `siamfc pack` benchmark that takes the results ("got10k", "trackingnet")
    frame_rule: str = ""  # the frame rules, for the README table
    box_rule: str = ""  # the box convention, for the README table
    frame_names: str = "<number>.jpg, numbered from 1"  # what a frame file is, for the notes naming the others
    first_frame: int = 1  # the number of a video's first frame file (first-box-only splits list them from it)

    def sequence_name(self, sequence_id: str) -> str:
        """The name a sequence is reported and written under (``test/Jogging.1`` -> ``Jogging.1``)."""
        return "/".join(sequence_id.split("/")[self.name_parts:])

    def result_folder(self, root: str | Path, tracker: str) -> Path:
        """Where the toolkit expects this benchmark's results of ``tracker`` under result root ``root``."""
        return Path(root).joinpath(*self.result_dir, tracker)


def _ope(name: str, title: str, source: str, prefix: str, parts: int, result_dir: tuple[str, ...], **kw) -> Benchmark:
    return Benchmark(name, title, source, "test", prefix, parts, result_dir, **kw)


_GOT10K_FRAMES = "<8 digits>.jpg from 00000001.jpg, nor an annotation file"
_OTB_FRAMES = "img/NNNN.jpg; line n is image n, or the configSeqs range (David 300-770, ...)"
BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    _ope("otb2015", "OTB-2015 (OTB-100)", "otb", "test/", 1, ("OTB2015",), one_based=True,
         frame_rule=_OTB_FRAMES, box_rule="x,y,w,h 1-based"),
    _ope("otb2013", "OTB-2013", "otb", "test/", 1, ("OTB2013",), one_based=True, subset=otb_source.OTB2013,
         frame_rule=_OTB_FRAMES, box_rule="x,y,w,h 1-based"),
    _ope("otb50", "OTB-50 (TB-50)", "otb", "test/", 1, ("OTBtb50",), one_based=True, subset=otb_source.OTB50,
         frame_rule=_OTB_FRAMES, box_rule="x,y,w,h 1-based"),
    _ope("uav123", "UAV123", "uav", "test/UAV123/", 2, ("UAV123",), one_based=True, not_visible="drop",
         frame_rule="data_seq/UAV123/<folder>/NNNNNN.jpg; sub-sequences are frame ranges (configSeqs)",
         box_rule="x,y,w,h 1-based; NaN lines out of view"),
    _ope("uav20l", "UAV20L", "uav", "test/UAV20L/", 2, ("UAV20L",), one_based=True, not_visible="drop",
         frame_rule="data_seq/UAV123/<seq>/NNNNNN.jpg, every frame",
         box_rule="x,y,w,h 1-based; NaN lines out of view"),
    _ope("nfs30", "NfS (30 fps)", "nfs", "test/30/", 2, ("NfS", "30"), not_visible="placeholder",
         frame_rule="<seq>/30/<seq>/NNNNN.jpg; every 8th line of the 240 fps file, one off trimmed",
         box_rule="VATIC xmin ymin xmax ymax, w = xmax - xmin, 0-based; lost frames keep the last box"),
    _ope("nfs240", "NfS (240 fps)", "nfs", "test/240/", 2, ("NfS", "240"), not_visible="placeholder",
         frame_rule="<seq>/240/<seq>/NNNNN.jpg; line n is frame n, one off trimmed",
         box_rule="VATIC xmin ymin xmax ymax, w = xmax - xmin, 0-based; lost frames keep the last box"),
    _ope("tc128", "Temple Color 128", "tc128", "test/", 1, ("TColor128",), one_based=True,
         frame_rule="img/NNNN.jpg from <name>_frames.txt's start", box_rule="x,y,w,h 1-based"),
    Benchmark("lasot", "LaSOT (protocol II test split)", "lasot", "test", "", 1, ("LaSOT",), figures="lasot",
              one_based=True, frame_rule="<class>/<class>-<n>/img/NNNNNNNN.jpg; testing_set.txt names the 280 "
              "test videos (without it: every video)",
              box_rule="x,y,w,h 1-based; full_occlusion / out_of_view frames not visible",
              frame_names="<number>.jpg"),
    Benchmark("lasot_ext", "LaSOT extension subset", "lasot", "all", "", 1, ("LaSOT_extension_subset",),
              figures="lasot", one_based=True, frame_rule="<class>/<class>-<n>/img/NNNNNNNN.jpg; every video",
              box_rule="x,y,w,h 1-based; full_occlusion / out_of_view frames not visible",
              frame_names="<number>.jpg"),
    Benchmark("tnl2k", "TNL2K (test)", "tnl2k", "test", "test/", 1, ("TNL2K",), figures="lasot", one_based=True,
              frame_rule="<subset>/<seq>/imgs/NNNNN.jpg (or .png)",
              box_rule="x,y,w,h 1-based; zero-size boxes: target absent", frame_names="<number>.jpg or .png"),
    Benchmark("got10k_val", "GOT-10k (val)", "got10k", "val", "val/", 1, ("GOT-10k",), figures="got10k",
              not_visible="drop", result_layout="got10k", frame_rule="val/<seq>/NNNNNNNN.jpg, line n is frame n",
              box_rule="x,y,w,h 0-based; absence / cover 0 frames not visible", frame_names=_GOT10K_FRAMES),
    Benchmark("got10k_test", "GOT-10k (test, first box only)", "got10k", "test", "test/", 1, ("GOT-10k",),
              figures="got10k", scored=False, result_layout="got10k", pack="got10k",
              frame_rule="test/<seq>/NNNNNNNN.jpg; every frame from 1", box_rule="x,y,w,h 0-based (first line)",
              frame_names=_GOT10K_FRAMES),
    Benchmark("trackingnet_test", "TrackingNet (test, first box only)", "trackingnet", "test", "test/TEST/", 2,
              ("TrackingNet",), figures="trackingnet", scored=False, result_layout="flat", pack="trackingnet",
              frame_rule="TEST/frames/<video>/<i>.jpg from 0", box_rule="x,y,w,h 0-based (first line)",
              frame_names="<number>.jpg from 0", first_frame=0),
    Benchmark("vid_val", "ImageNet VID (val)", "vid", "val", "val/", 0, ("VID",), figures="vid", not_visible="drop",
              frame_rule="Data/VID/val/<snippet>/NNNNNN.JPEG; the first-appearing track, from its first to its "
              "last annotated frame", box_rule="XML xmin..xmax inclusive, 0-based",
              frame_names="<number>.xml / <number>.JPEG", first_frame=0),
    Benchmark("sequences", "your own sequences (0-based)", "sequences", "all", "all/", 1, ("Sequences",),
              not_visible="drop", frame_rule="<seq>/[img/]N.jpg; line n is frame n",
              box_rule="x,y,w,h 0-based; NaN lines absent"),
    Benchmark("sequences1", "your own sequences (1-based)", "sequences1", "all", "all/", 1, ("Sequences",),
              not_visible="drop", one_based=True, frame_rule="<seq>/[img/]N.jpg; line n is frame n",
              box_rule="x,y,w,h 1-based; NaN lines absent"),
)}

# sequence names of the LaSOT extension subset's 15 classes: a LaSOT-layout root without testing_set.txt holding
# only these is LaSOT-ext
LASOT_EXT_CLASSES = frozenset({"atv", "badminton", "cosplay", "dancingshoe", "footbag", "frisbee", "jianzi", "lantern",
                               "misc", "opossum", "paddle", "raccoon", "rhino", "skatingshoe", "wingsuit"})


def benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``; CurationError listing the known ones otherwise."""
    if name not in BENCHMARKS:
        raise CurationError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


def benchmark_for(root: str | Path) -> Benchmark:
    """The benchmark a dataset root holds, recognised by its layout (:func:`~siamfc.curate.sources.detect_format`)
    and, where a format holds several, by the split or subset the root has: OTB is OTB-2015 (OTB-2013 and OTB-50
    are named), a UAV123 download UAV123 and an NfS one NfS at 30 fps (UAV20L, 240 fps: named), LaSOT the protocol-II
    test split (LaSOT-ext when the root has no ``testing_set.txt`` and only the extension's classes), a GOT-10k split
    folder its split. CurationError naming the root when it holds none or several (a GOT-10k root with val and test:
    say which with ``--benchmark``)."""
    root = Path(root)
    try:
        fmt = detect_format(root)
    except CurationError as err:
        text = str(err).replace("name one with --format", "name the benchmark with --benchmark (sequences or "
                                "sequences1 for folders of your own)").replace("say which with --format",
                                                                               "say which with --benchmark")
        raise CurationError(text) from None
    candidates = [b for b in BENCHMARKS.values() if b.source == fmt and _has(b, root)]
    if fmt == "otb":
        candidates = [BENCHMARKS["otb2015"]]  # OTB-2013 and OTB-50 are subsets of the same folder: named
    if fmt == "lasot":
        candidates = [BENCHMARKS["lasot_ext" if _lasot_ext(root) else "lasot"]]
    if fmt in ("uav", "nfs") and candidates:
        candidates = candidates[:1]  # one download holds both: UAV123 and NfS at 30 fps, the ones usually quoted
    if len(candidates) == 1:
        return candidates[0]
    names = " and ".join(b.name for b in candidates) or "no benchmark"
    raise CurationError(f"{root}: a {FORMATS[fmt].title} root holding {names}; say which with --benchmark "
                        f"({', '.join(b.name for b in BENCHMARKS.values() if b.source == fmt)})")


def _has(bench: Benchmark, root: Path) -> bool:
    """Whether ``root`` holds sequences of ``bench`` (cheaply: folder names, no annotation read)."""
    if bench.source == "got10k":
        prefix = {"val": "GOT-10k_Val_", "test": "GOT-10k_Test_"}[bench.split]
        return (root / bench.split).is_dir() or _named(root, prefix)
    if bench.source == "trackingnet":
        return any(p.name.upper() == "TEST" for p in _subfolders(root))
    if bench.source == "uav":
        return (root / "anno" / bench.id_prefix.split("/")[1]).is_dir()
    if bench.source == "nfs":
        rate = bench.id_prefix.split("/")[1]
        return (root / rate).is_dir() or any((p / rate).is_dir() for p in _subfolders(root)[:64])
    if bench.source == "tnl2k":
        return True  # its train subset is no benchmark
    return True


def _named(root: Path, prefix: str) -> bool:
    return any(p.name.startswith(prefix) for p in _subfolders(root)[:64])


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _lasot_ext(root: Path) -> bool:
    """A LaSOT-layout root without a test list whose classes are all LaSOT-ext's."""
    if lasot_source.testing_set(root):
        return False
    classes = {re.sub(r"-[0-9]+$", "", p.name).lower() for p in _subfolders(root)}  # <class>/ or <class>-<n>/
    return bool(classes) and classes <= LASOT_EXT_CLASSES


def select(bench: Benchmark, root: str | Path) -> SequenceSearch:
    """The sequences of ``bench`` under ``root``, read through its source, in id order (sequences of the subset
    only); CurationError naming the root when it holds none."""
    root = Path(root)
    if bench.source == "lasot":
        if bench.split == "test":
            _, found = lasot_source.benchmark_sequences(root)
        else:
            found = lasot_source.search(root, lasot_source.SPLITS)
    elif bench.name == "got10k_test":
        found = SequenceSearch(sequences=[got10k_source.Got10kSequence(f"test/{name}", "test", gt.parent)
                                          for name, gt, _ in got10k_source.test_sequences(root)])
    elif bench.name == "trackingnet_test":
        found = SequenceSearch(sequences=[
            trackingnet_source.Video(f"test/TEST/{name}", "test", anno, anno.parent.parent / "frames" / name)
            for name, anno, _ in trackingnet_source.test_videos(root)])
    else:
        found = FORMATS[bench.source].search(root, (bench.split,))
    keep: list[Sequence] = [s for s in found.sequences if s.id.startswith(bench.id_prefix)
                            and (not bench.subset or otb_source.subset(bench.subset, bench.sequence_name(s.id)))]
    if not keep:
        raise CurationError(f"{root}: no sequence of {bench.title} ({bench.name})")
    return SequenceSearch(sorted(keep, key=lambda s: s.id), found.passed_over, found.notes, found.read)
