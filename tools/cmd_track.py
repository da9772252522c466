"""`siamfc track` (one sequence of frames) and `siamfc eval` (one-pass evaluation over a benchmark folder)."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from siamfc.model.benchmarks import find_sequences, image_files
from siamfc.model.eval_plots import plot_runs
from siamfc.model.evaluate import evaluate, load_summary, write_report
from siamfc.model.net import SiamFCNet
from siamfc.model.tracker import SiamFCTracker, TrackerConfig, draw_box, show_frame
from siamfc.model.weights import read_weights

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


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
    return TrackerConfig(scales=args.scales, scale_step=args.scale_step, scale_penalty=args.scale_penalty,
                         scale_lr=args.scale_lr, window_influence=args.window_influence,
                         response_up=args.response_up, context=args.context)


def build_tracker(args: argparse.Namespace, name: str = "SiamFC") -> tuple[SiamFCTracker, dict]:
    """The tracker the options describe, and what to record about it."""
    if not args.weights:
        raise ValueError("--weights is required")
    state, fmt = read_weights(args.weights)
    net = SiamFCNet()
    net.load_state_dict(state)
    config = tracker_config(args)
    tracker = SiamFCTracker(net, config, args.device, name)
    meta = {"weights": str(args.weights), "weights_format": fmt, "device": str(tracker.device),
            "tracker": config.__dict__}
    return tracker, meta


def parse_box(text: str) -> np.ndarray:
    try:
        box = np.array([float(v) for v in text.replace(" ", ",").split(",") if v], dtype=np.float64)
    except ValueError:
        box = np.zeros(0)
    if box.shape != (4,) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"--init {text!r}: expected x,y,w,h (0-based, positive width and height)")
    return box


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
        if out.suffix.lower() not in VIDEO_SUFFIXES:
            out.mkdir(parents=True, exist_ok=True)

    def __call__(self, index: int, image: np.ndarray, box: np.ndarray) -> None:
        frame = draw_box(image, box)
        if self.out.suffix.lower() not in VIDEO_SUFFIXES:
            cv2.imwrite(str(self.out / f"{index:06d}.jpg"), frame)
            return
        if self.video is None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.video = cv2.VideoWriter(str(self.out), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                         (frame.shape[1], frame.shape[0]))
            if not self.video.isOpened():
                raise ValueError(f"{self.out}: OpenCV cannot write this video format")
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
    files = frame_files(Path(args.frames))
    box = parse_box(args.init)
    tracker, meta = build_tracker(args)
    writer = FrameWriter(Path(args.video), args.fps) if args.video else None
    callbacks = [c for c in (writer, show if args.show else None) if c is not None]
    try:
        boxes, times = tracker.track(files, box, callback=lambda *a: [c(*a) for c in callbacks])
    finally:
        if writer is not None:
            writer.close()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(out, boxes, fmt="%.3f", delimiter=",")
    print(f"{len(files)} frames tracked with {meta['weights_format']} weights on {meta['device']}: "
          f"{_fps(times):.1f} fps (updates); boxes (x,y,w,h, 0-based) in {out}"
          + (f"; frames with boxes in {args.video}" if args.video else ""))


def _fps(times: np.ndarray) -> float:
    updates = times[1:] if len(times) > 1 else times
    return len(updates) / max(float(updates.sum()), 1e-12)


def cmd_eval(args: argparse.Namespace) -> None:
    out = Path(args.out)
    runs = [load_summary(p) for p in args.compare or []]
    if args.dataset:
        sequences, skipped = find_sequences(args.dataset, progress=not args.no_progress)
        if args.max_sequences:
            sequences = sequences[:args.max_sequences]
        tracker, meta = build_tracker(args, args.name)
        report = evaluate(tracker, sequences, args.name, str(args.dataset), skipped, meta,
                          progress=not args.no_progress)
        print("\n".join(report.lines()))
        print(f"report: {write_report(report, out)}")
        runs.insert(0, report.summary())
    elif not runs:
        raise ValueError("give --dataset to evaluate, or --compare reports to plot")
    plot = plot_runs(runs, out / f"{args.name}.png", title=args.dataset or "")
    print(f"plots: {plot}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track", help="track one target through a folder of frames")
    p.add_argument("--frames", required=True, help="folder of frames (sorted by name), or an OTB sequence folder")
    p.add_argument("--init", required=True, help="first-frame box x,y,w,h (0-based pixels)")
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
