"""What the file account of a curation costs: the search, then the account, against a plain walk of the same tree.

Run: ``python -m siamfc.tools.bench_account [--videos 400] [--frames 500] [--format lasot|got10k]``. The tree is a
synthetic one of that format's layout whose frames are hard links of one small JPEG (so that a tree of a million
files is cheap to make); the account reads no frame, only names. Printed: ms per 1,000 files for a plain
``os.walk`` (the floor), the source's search and the account, and the account's ratio to the floor.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from siamfc.curate.sources import source_format
from siamfc.curate.sources.account import account_files

_VIDEOS_PER_SOURCE = 50


def make_tree(root: Path, fmt: str, videos: int, frames: int) -> int:
    """A ``fmt`` tree of ``videos`` x ``frames`` linked JPEGs with their annotation files; the number of files."""
    image = np.full((48, 64, 3), 128, np.uint8)
    box = "".join("10,10,20,20\n" for _ in range(frames))
    zeros = "".join("0\n" for _ in range(frames))
    tree = root / "tree"
    for v in range(videos):
        jpeg = root / f"frame-{v // _VIDEOS_PER_SOURCE}.jpg"  # a file has at most 65,000 hard links on ext4
        if not jpeg.exists():
            cv2.imwrite(str(jpeg), image)
        if fmt == "lasot":
            cls = f"class{v % 20}"
            folder = tree / cls / f"{cls}-{v}"
            images = folder / "img"
            images.mkdir(parents=True)
            (folder / "groundtruth.txt").write_text(box)
            for name in ("full_occlusion.txt", "out_of_view.txt"):
                (folder / name).write_text(",".join("0" * frames))
            (folder / "nlp.txt").write_text("a target\n")
        else:
            folder = images = tree / "train" / f"GOT-10k_Train_{v + 1:06d}"
            images.mkdir(parents=True)
            (folder / "groundtruth.txt").write_text(box)
            for name in ("absence.label", "cut_by_image.label"):
                (folder / name).write_text(zeros)
            (folder / "cover.label").write_text(zeros.replace("0", "8"))
            (folder / "meta_info.ini").write_text("[METAINFO]\nobject_class: thing\nresolution: (64, 48)\n")
        for i in range(1, frames + 1):
            os.link(jpeg, images / f"{i:08d}.jpg")
    return sum(len(files) for _, _, files in os.walk(tree))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--format", choices=["lasot", "got10k"], default="lasot")
    p.add_argument("--videos", type=int, default=400)
    p.add_argument("--frames", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    fmt = source_format(args.format)
    with tempfile.TemporaryDirectory() as tmp:
        files = make_tree(Path(tmp), args.format, args.videos, args.frames)
        tree = Path(tmp) / "tree"
        best = {"walk": float("inf"), "search": float("inf"), "account": float("inf")}
        for _ in range(args.repeat):
            start = time.perf_counter()
            walked = sum(len(f) for _, _, f in os.walk(tree))
            best["walk"] = min(best["walk"], time.perf_counter() - start)
            start = time.perf_counter()
            found = fmt.search(tree, fmt.splits)
            for s in found.sequences:
                s.frame_count()  # the run lists each sequence's frames for its progress bar anyway
            best["search"] = min(best["search"], time.perf_counter() - start)
            start = time.perf_counter()
            account = account_files(tree, found.sequences, {}, found.passed_over, found.read,
                                    functools.partial(fmt.outside, splits=fmt.splits))
            best["account"] = min(best["account"], time.perf_counter() - start)
        assert walked == files == account.files, (walked, files, account.files)
    per = {k: v * 1e3 / files * 1e3 for k, v in best.items()}
    print(f"{args.format}: {files} files ({args.videos} videos x {args.frames} frames), best of {args.repeat}")
    print(f"  os.walk (floor)  {per['walk']:.2f} ms per 1,000 files")
    print(f"  search           {per['search']:.2f} ms per 1,000 files")
    print(f"  account          {per['account']:.2f} ms per 1,000 files ({best['account'] / best['walk']:.2f}x the "
          "floor)")
    print(f"  {account.line()}")


if __name__ == "__main__":
    main()
