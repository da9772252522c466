"""`siamfc track` (one sequence of frames) and `siamfc eval` (one-pass evaluation over a benchmark folder): the work.

Options are declared in :mod:`.cmd_track`; the tracker is built by :func:`siamfc.model.tracker.load_tracker`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from siamfc.curate.atomic import writable_folder
from siamfc.curate.boxes import valid_xywh
from siamfc.curate.errors import UserError
from siamfc.curate.paths import check_folder
from siamfc.model.attributes import attribute_report
from siamfc.model.eval_plots import plot_runs
from siamfc.model.eval_sequences import benchmark_of, find_sequences
from siamfc.model.evaluate import (
    FrameFiles,
    NothingToEvaluate,
    Records,
    evaluate,
    load_summary,
    result_names,
    skip_lines,
    weights_identity,
    write_boxes,
    write_report,
    write_toolkit_results,
)
from siamfc.model.tracker import BoxOutsideFrameWarning, SiamFCTracker, draw_box, load_tracker, show_frame

from .cmd_track import tracker_config

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")  # frames `siamfc track` takes, in name order
MAX_INIT = 1e6  # pixels: no --init value lies further out (the crop arithmetic overflows long before 1e200)
EXIF_ORIENTATION = 0x0112  # values 5..8 turn the image a quarter, and cv2.imread applies them


def build_tracker(args: argparse.Namespace, name: str = "SiamFC") -> SiamFCTracker:
    """The tracker the options describe (``tracker.info`` says what was loaded, and where it runs)."""
    config = tracker_config(args)
    if not args.weights:
        raise UserError("--weights is required")
    return load_tracker(args.weights, config, args.device, args.backend, name)


def parse_init(text: str) -> np.ndarray:
    """``--init`` as an ``x, y, w, h`` array; UserError unless 4 numbers :func:`~siamfc.curate.boxes.valid_xywh`
    holds for, none beyond :data:`MAX_INIT` pixels."""
    try:
        box = np.array([float(v) for v in text.replace(" ", ",").split(",") if v], dtype=np.float64)
    except ValueError:
        box = np.zeros(0)
    if not valid_xywh(box):
        raise UserError(f"--init {text!r}: expected x,y,w,h: 4 finite numbers (0-based pixels), width and "
                         "height above 0")
    if np.abs(box).max() > MAX_INIT:
        raise UserError(f"--init {text!r}: x,y,w,h beyond {MAX_INIT:.0f} pixels; give the box in the frame's "
                         "pixels")
    return box


def positive_fps(fps: float) -> float:
    """``--fps``, checked finite and above 0."""
    if not (math.isfinite(fps) and fps > 0):
        raise UserError(f"--fps must be a finite number above 0, got {fps}")
    return fps


def output_file(path: Path, option: str) -> Path:
    """``path`` checked as a file that can be written (its folder created); UserError naming it otherwise."""
    if path.is_dir():
        raise UserError(f"{path}: {option} is a folder; give a file name")
    writable_folder(path.parent, f"folder of {option} {path.name}")
    return path


def check_video(path: Path) -> Path:
    """``--video``: a writable video file (by suffix) or folder of JPEGs."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return output_file(path, "--video")
    return writable_folder(path, "--video folder")


def frame_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image as ``cv2.imread`` decodes it, from its header alone."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
                width, height = height, width
    except Exception as err:  # PIL raises several types for files that are not images
        raise UserError(f"{path}: not a readable image ({err})") from None
    return width, height


def common_size(files: list[Path]) -> tuple[int, int]:
    """The frames' one ``(width, height)``; UserError naming the first frame of another size or not an image.

    The tracker crops each frame on its own, but boxes of frames of different sizes are in different pixel
    grids, and a video has one size: such a folder is refused rather than tracked.
    """
    first = frame_size(files[0])
    for path in files[1:]:
        size = frame_size(path)
        if size != first:
            raise UserError(f"{path}: frame of {size[0]}x{size[1]} pixels, but the first frame {files[0].name} is "
                             f"{first[0]}x{first[1]}; all frames of a sequence must have one size")
    return first


@contextlib.contextmanager
def box_warnings() -> Iterator[None]:
    """Every first box outside its frame is warned about (the CLI prints each warning as one line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", BoxOutsideFrameWarning)
        yield


def image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def frame_files(folder: Path) -> list[Path]:
    """Images of a folder, or of its ``img/`` subfolder (OTB layout), in name order."""
    check_folder(folder)
    files = image_files(folder)
    if not files and (folder / "img").is_dir():
        files = image_files(folder / "img")
    if not files:
        raise UserError(f"{folder}: no .jpg/.jpeg/.png/.bmp frames")
    return files


class FrameWriter:
    """Frames with their box drawn, into a video file (by suffix) or a folder of JPEGs."""

    def __init__(self, out: Path, fps: float):
        self.out, self.fps, self.video = out, fps, None
        self.size: tuple[int, int] | None = None
        if out.suffix.lower() not in VIDEO_SUFFIXES:
            out.mkdir(parents=True, exist_ok=True)

    def __call__(self, index: int, image: np.ndarray, box: np.ndarray) -> None:
        frame = draw_box(image, box)
        if self.out.suffix.lower() not in VIDEO_SUFFIXES:
            cv2.imwrite(str(self.out / f"{index:06d}.jpg"), frame)
            return
        size = (frame.shape[1], frame.shape[0])
        if self.video is None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.video = cv2.VideoWriter(str(self.out), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, size)
            if not self.video.isOpened():
                raise UserError(f"{self.out}: OpenCV cannot write this video format")
            self.size = size
        elif size != self.size:  # OpenCV would drop the frame without a word
            raise RuntimeError(f"{self.out}: frame {index} is {size[0]}x{size[1]}, the video {self.size[0]}x"
                             f"{self.size[1]}")
        self.video.write(frame)

    def close(self) -> None:
        if self.video is not None:
            self.video.release()


def show(index: int, image: np.ndarray, box: np.ndarray) -> None:
    try:
        show_frame(index, image, box)
    except cv2.error:
        raise UserError("--show needs an OpenCV build with a GUI (opencv-python, not opencv-python-headless); "
                         "use --video instead") from None


def cmd_track(args: argparse.Namespace) -> None:
    box, fps = parse_init(args.init), positive_fps(args.fps)
    tracker_config(args)  # every option checked before any file is read
    out = output_file(Path(args.out), "--out")
    video = check_video(Path(args.video)) if args.video else None
    files = frame_files(Path(args.frames))
    common_size(files)
    tracker = build_tracker(args)
    meta = tracker.info
    writer = FrameWriter(video, fps) if video else None
    callbacks = [c for c in (writer, show if args.show else None) if c is not None]
    try:
        with box_warnings():
            boxes, times = tracker.track(FrameFiles(files), box,  # each JPEG decoded strictly first
                                         callback=lambda *a: [c(*a) for c in callbacks])
    finally:
        if writer is not None:
            writer.close()
    write_boxes(out, boxes)
    print(f"{len(files)} frames tracked with {meta['weights_format']} weights on {meta['backend']} "
          f"({meta['device']}): "
          f"{_fps(times):.1f} fps (updates); boxes (x,y,w,h, 0-based) in {out}"
          + (f"; frames with boxes in {args.video}" if args.video else ""))


def _fps(times: np.ndarray) -> float:
    updates = times[1:] if len(times) > 1 else times
    return len(updates) / max(float(updates.sum()), 1e-12)


def check_name(name: str) -> str:
    """``--name``, checked usable as a file name."""
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise UserError(f"--name {name!r}: must be a plain file name (no path separator)")
    return name


def load_compared(path: str, benchmark: str | None, sequences: list | None) -> list[dict]:
    """``--compare PATH``: a report JSON of ours (:func:`load_summary`), or a folder of published toolkit results,
    read by :func:`siamfc.model.published.load_published` (one summary or several) when that module is there."""
    if not Path(path).is_dir():
        return [load_summary(path)]
    if importlib.util.find_spec("siamfc.model.published") is None:
        raise UserError(f"--compare {path}: a folder; give a report JSON written by siamfc eval")
    from siamfc.model.published import load_published

    runs = load_published(path, benchmark, sequences)
    return list(runs) if isinstance(runs, (list, tuple)) else [runs]


def cmd_eval(args: argparse.Namespace) -> None:
    if args.max_sequences is not None and args.max_sequences < 1:
        raise UserError(f"--max-sequences must be at least 1, got {args.max_sequences}")
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    check_name(args.name)
    compare = list(args.compare or [])
    runs = [run for p in compare if not Path(p).is_dir() for run in load_compared(p, None, None)]
    if not (args.dataset or compare):
        raise UserError("give --dataset to evaluate, or --compare reports to plot")
    bench, sequences = None, None
    if args.dataset:
        check_folder(args.dataset)
        bench = benchmark_of(args.dataset, args.benchmark)
        tracker = build_tracker(args, args.name)
        sequences, skipped = find_sequences(args.dataset, bench.name, progress=not args.no_progress)
        if args.max_sequences:
            sequences = sequences[:args.max_sequences]
        result_names(sequences)  # two sequences whose result files would collide: refused before any tracking
    elif args.benchmark:
        bench = benchmark_of(".", args.benchmark)
    runs += [run for p in compare if Path(p).is_dir()
             for run in load_compared(p, bench.name if bench else None, sequences)]
    out = writable_folder(Path(args.out), "report folder (--out)")  # before hours of tracking
    if args.dataset:
        identity = {"benchmark": bench.name, "dataset": str(Path(args.dataset).resolve()),
                    "weights_sha256": weights_identity(args.weights), "backend": args.backend,
                    "tracker": tracker.info.get("tracker")}
        records = Records(out, args.name, identity, out / "results", force=args.force)
        factory = functools.partial(load_tracker, args.weights, tracker_config(args), args.device, args.backend,
                                    args.name)
        with box_warnings():
            try:
                report = evaluate(tracker, sequences, args.name, str(args.dataset), skipped, tracker.info,
                                  progress=not args.no_progress, records=records, workers=args.workers,
                                  factory=factory)
            except NothingToEvaluate as err:
                print("\n".join(skip_lines(err.skipped, indent="")))
                raise UserError(f"{err} (each listed above)") from None
        if report.resumed:
            print(f"resumed: {report.resumed} of {len(sequences)} sequences "
                  f"recorded by an earlier run of this evaluation ({records.folder}) taken as they were; "
                  "--force redoes them")
        print("\n".join(report.lines()))
        print(f"report: {write_report(report, out)}")
        results = write_toolkit_results(report, out / "results")
        print(f"results in the toolkit's layout: {bench.result_folder(results, args.name)}"
              + (f" (siamfc pack {bench.pack} {results})" if bench.pack else ""))
        if report.scored:
            runs.insert(0, report.summary())
    if runs:
        plot = plot_runs(runs, out / f"{args.name}.png", title=args.dataset or "")
        print(f"plots: {plot}")
    for line in attribute_report(report, bench, args.attributes, out, runs) if args.dataset else []:
        print(line)
