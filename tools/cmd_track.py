"""`siamfc track` (one sequence of frames) and `siamfc eval` (one-pass evaluation over a benchmark folder)."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from siamfc.curate.atomic import writable_folder
from siamfc.model.benchmarks import find_sequences, image_files
from siamfc.model.eval_plots import plot_runs
from siamfc.model.evaluate import evaluate, load_summary, write_boxes, write_report
from siamfc.model.net import SiamFCNet
from siamfc.model.tracker import BoxOutsideFrameWarning, SiamFCTracker, TrackerConfig, draw_box, show_frame
from siamfc.model.weights import read_weights

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
EXIF_ORIENTATION = 0x0112  # values 5..8 turn the image a quarter, and cv2.imread applies them


def add_tracker_options(p: argparse.ArgumentParser) -> None:
    d = TrackerConfig()
    p.add_argument("--weights", help="our checkpoint.pt / weights.pt, or a public SiamFC state dict (see "
                                     "siamfc.model.weights)")
    p.add_argument("--scales", type=int, default=d.scales, help=f"search scales, odd (default {d.scales})")
    p.add_argument("--scale-step", type=float, default=d.scale_step)
    p.add_argument("--scale-penalty", type=float, default=d.scale_penalty)
    p.add_argument("--scale-lr", type=float, default=d.scale_lr)
    p.add_argument("--window-influence", type=float, default=d.window_influence)
    p.add_argument("--response-up", type=int, default=d.response_up, help="response upsampling factor")
    p.add_argument("--context", type=float, default=d.context)
    p.add_argument("--device", help="torch device (default: cuda when available, else cpu)")


def tracker_config(args: argparse.Namespace) -> TrackerConfig:
    """The tracker options as a config; ValueError naming the first bad option (``--scale-step``, ...)."""
    try:
        return TrackerConfig(scales=args.scales, scale_step=args.scale_step, scale_penalty=args.scale_penalty,
                             scale_lr=args.scale_lr, window_influence=args.window_influence,
                             response_up=args.response_up, context=args.context)
    except ValueError as err:
        raise ValueError(re.sub(r"\bTrackerConfig\.(\w+)", lambda m: "--" + m.group(1).replace("_", "-"),
                                str(err))) from None


def build_tracker(args: argparse.Namespace, name: str = "SiamFC") -> tuple[SiamFCTracker, dict]:
    """The tracker the options describe, and what to record about it."""
    config = tracker_config(args)
    if not args.weights:
        raise ValueError("--weights is required")
    state, fmt = read_weights(args.weights)
    net = SiamFCNet()
    net.load_state_dict(state)
    tracker = SiamFCTracker(net, config, args.device, name)
    meta = {"weights": str(args.weights), "weights_format": fmt, "device": str(tracker.device),
            "tracker": config.__dict__}
    return tracker, meta


def parse_box(text: str) -> np.ndarray:
    """``--init`` as an ``x, y, w, h`` array; ValueError unless 4 finite numbers with ``w, h > 0``."""
    try:
        box = np.array([float(v) for v in text.replace(" ", ",").split(",") if v], dtype=np.float64)
    except ValueError:
        box = np.zeros(0)
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"--init {text!r}: expected x,y,w,h: 4 finite numbers (0-based pixels), width and "
                         "height above 0")
    return box


def positive_fps(fps: float) -> float:
    """``--fps``, checked finite and above 0."""
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"--fps must be a finite number above 0, got {fps}")
    return fps


def output_file(path: Path, option: str) -> Path:
    """``path`` checked as a file that can be written (its folder created); ValueError naming it otherwise."""
    if path.is_dir():
        raise ValueError(f"{path}: {option} is a folder; give a file name")
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
        raise ValueError(f"{path}: not a readable image ({err})") from None
    return width, height


def common_size(files: list[Path]) -> tuple[int, int]:
    """The frames' one ``(width, height)``; ValueError naming the first frame of another size or not an image.

    The tracker crops each frame on its own, but boxes of frames of different sizes are in different pixel
    grids, and a video has one size: such a folder is refused rather than tracked.
    """
    first = frame_size(files[0])
    for path in files[1:]:
        size = frame_size(path)
        if size != first:
            raise ValueError(f"{path}: frame of {size[0]}x{size[1]} pixels, but the first frame {files[0].name} is "
                             f"{first[0]}x{first[1]}; all frames of a sequence must have one size")
    return first


@contextlib.contextmanager
def box_warnings() -> Iterator[None]:
    """Every first box outside its frame is warned about (the CLI prints each warning as one line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", BoxOutsideFrameWarning)
        yield


def frame_files(folder: Path) -> list[Path]:
    """Images of a folder, or of its ``img/`` subfolder (OTB layout)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    files = image_files(folder)
    if not files and (folder / "img").is_dir():
        files = image_files(folder / "img")
    if not files:
        raise ValueError(f"{folder}: no .jpg/.jpeg/.png/.bmp frames")
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
                raise ValueError(f"{self.out}: OpenCV cannot write this video format")
            self.size = size
        elif size != self.size:  # OpenCV would drop the frame without a word
            raise ValueError(f"{self.out}: frame {index} is {size[0]}x{size[1]}, the video {self.size[0]}x"
                             f"{self.size[1]}")
        self.video.write(frame)

    def close(self) -> None:
        if self.video is not None:
            self.video.release()


def show(index: int, image: np.ndarray, box: np.ndarray) -> None:
    try:
        show_frame(index, image, box)
    except cv2.error:
        raise ValueError("--show needs an OpenCV build with a GUI (opencv-python, not opencv-python-headless); "
                         "use --video instead") from None


def cmd_track(args: argparse.Namespace) -> None:
    box, fps = parse_box(args.init), positive_fps(args.fps)
    tracker_config(args)  # every option checked before any file is read
    out = output_file(Path(args.out), "--out")
    video = check_video(Path(args.video)) if args.video else None
    files = frame_files(Path(args.frames))
    common_size(files)
    tracker, meta = build_tracker(args)
    writer = FrameWriter(video, fps) if video else None
    callbacks = [c for c in (writer, show if args.show else None) if c is not None]
    try:
        with box_warnings():
            boxes, times = tracker.track(files, box, callback=lambda *a: [c(*a) for c in callbacks])
    finally:
        if writer is not None:
            writer.close()
    write_boxes(out, boxes)
    print(f"{len(files)} frames tracked with {meta['weights_format']} weights on {meta['device']}: "
          f"{_fps(times):.1f} fps (updates); boxes (x,y,w,h, 0-based) in {out}"
          + (f"; frames with boxes in {args.video}" if args.video else ""))


def _fps(times: np.ndarray) -> float:
    updates = times[1:] if len(times) > 1 else times
    return len(updates) / max(float(updates.sum()), 1e-12)


def check_name(name: str) -> str:
    """``--name``, checked usable as a file name."""
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"--name {name!r}: must be a plain file name (no path separator)")
    return name


def cmd_eval(args: argparse.Namespace) -> None:
    if args.max_sequences is not None and args.max_sequences < 1:
        raise ValueError(f"--max-sequences must be at least 1, got {args.max_sequences}")
    check_name(args.name)
    runs = [load_summary(p) for p in args.compare or []]
    if not (args.dataset or runs):
        raise ValueError("give --dataset to evaluate, or --compare reports to plot")
    if args.dataset:
        tracker, meta = build_tracker(args, args.name)
        sequences, skipped = find_sequences(args.dataset, progress=not args.no_progress)
        if args.max_sequences:
            sequences = sequences[:args.max_sequences]
    out = writable_folder(Path(args.out), "report folder (--out)")  # before hours of tracking
    if args.dataset:
        with box_warnings():
            report = evaluate(tracker, sequences, args.name, str(args.dataset), skipped, meta,
                              progress=not args.no_progress)
        print("\n".join(report.lines()))
        print(f"report: {write_report(report, out)}")
        runs.insert(0, report.summary())
    plot = plot_runs(runs, out / f"{args.name}.png", title=args.dataset or "")
    print(f"plots: {plot}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track", help="track one target through a folder of frames")
    p.add_argument("--frames", required=True, help="folder of frames (sorted by name), or an OTB sequence folder")
    p.add_argument("--init", required=True,
                   help="first-frame box x,y,w,h (0-based pixels); write --init=-4,10,30,20 when x is negative")
    p.add_argument("--out", default="boxes.txt", help="box file to write, one x,y,w,h per frame (default boxes.txt)")
    p.add_argument("--video", help="draw the boxes into OUT.mp4 (or .avi/.mov/.mkv), or into a folder of JPEGs")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of --video (default 25)")
    p.add_argument("--show", action="store_true", help="show frames in a window (needs a GUI build of OpenCV)")
    add_tracker_options(p)
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("eval", help="one-pass evaluation over OTB / GOT-10k / VID-val sequences, JSON and plots")
    p.add_argument("--dataset", help="folder of OTB or GOT-10k sequences, or an ILSVRC2015 root (VID val)")
    p.add_argument("--out", default="eval", help="report folder (default ./eval)")
    p.add_argument("--name", default="SiamFC", help="run name: report file names and plot legend")
    p.add_argument("--compare", nargs="+", metavar="JSON", help="earlier reports to draw in the same plots")
    p.add_argument("--max-sequences", type=int, help="evaluate only the first N sequences")
    p.add_argument("--no-progress", action="store_true")
    add_tracker_options(p)
    p.set_defaults(func=cmd_eval)
