"""The synthetic VID tree, checked on the written files (ElementTree + cv2), not on generator internals."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.curate.sources.vid_classes import WNIDS
from siamfc.curate.synth import SynthConfig, SynthObject, generate
from siamfc.tools.cli import main

FRAME_TAGS = ["folder", "filename", "source", "size", "object"]
OBJECT_TAGS = ["trackid", "name", "bndbox", "occluded", "generated"]
BOX_TAGS = ["xmax", "xmin", "ymax", "ymin"]
SNIPPET_RE = re.compile(r"^(train/ILSVRC2015_VID_train_000[01]/ILSVRC2015_train_\d{8}|val/ILSVRC2015_val_\d{8})$")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SynthObject]]:
    root = tmp_path_factory.mktemp("vid")
    return root, generate(root)


def parse(xml_path: Path) -> dict:
    """One frame's XML as plain values, checking the real tag order on the way."""
    ann = ET.parse(xml_path).getroot()
    assert ann.tag == "annotation"
    assert [c.tag for c in ann][:4] == FRAME_TAGS[:4] and {c.tag for c in ann} <= set(FRAME_TAGS)
    assert ann.findtext("source/database") == "ILSVRC_2015"
    objects = []
    for obj in ann.findall("object"):
        assert [c.tag for c in obj] == OBJECT_TAGS
        assert [c.tag for c in obj.find("bndbox")] == BOX_TAGS
        box = tuple(int(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
        fields = (int(obj.findtext(k)) for k in ("trackid", "occluded", "generated"))
        track, occluded, generated = fields
        objects.append({"track": track, "wnid": obj.findtext("name"), "box": box, "occ": occluded, "gen": generated})
    size = (int(ann.findtext("size/width")), int(ann.findtext("size/height")))
    return {"folder": ann.findtext("folder"), "filename": ann.findtext("filename"), "size": size, "objects": objects}


@pytest.fixture(scope="module")
def frames(tree: tuple[Path, list[SynthObject]]) -> dict[str, list[dict]]:
    """snippet id -> parsed frames in order, from the XML files on disk."""
    root, _ = tree
    out: dict[str, list[dict]] = {}
    for xml_path in sorted((root / "Annotations" / "VID").rglob("*.xml")):
        snippet = xml_path.parent.relative_to(root / "Annotations" / "VID").as_posix()
        out.setdefault(snippet, []).append(parse(xml_path) | {"path": xml_path})
    return out


def test_layout_and_xml_header(tree, frames) -> None:
    root, _ = tree
    assert len(frames) == 6 and all(SNIPPET_RE.match(s) for s in frames)
    assert {s.split("/")[1] for s in frames if s.startswith("train/")} == {
        "ILSVRC2015_VID_train_0000",
        "ILSVRC2015_VID_train_0001",
    }
    for snippet, parsed in frames.items():
        assert [f["path"].stem for f in parsed] == [f"{i:06d}" for i in range(len(parsed))]
        for f in parsed:
            assert f["folder"] == snippet.split("/", 1)[1] and f["filename"] == f["path"].stem
    text = (root / "Annotations/VID/val/ILSVRC2015_val_00000000/000000.xml").read_text()
    assert text.startswith("<annotation>\n\t<folder>ILSVRC2015_val_00000000</folder>\n\t<filename>000000</filename>")
    assert "\t\t<bndbox>\n\t\t\t<xmax>" in text and text.endswith("</annotation>\n")


def test_xml_matches_returned_objects(tree, frames) -> None:
    _, objects = tree
    from_xml = [
        (snippet, i, o["track"], o["wnid"], o["box"], o["occ"], o["gen"], *f["size"])
        for snippet, parsed in frames.items()
        for i, f in enumerate(parsed)
        for o in f["objects"]
    ]
    returned = [
        (o.snippet, o.frame, o.track, o.wnid, o.box, o.occluded, o.generated, o.width, o.height) for o in objects
    ]
    assert returned == from_xml
    assert all(o.wnid in WNIDS for o in objects)
    classes = defaultdict(set)
    for o in objects:
        classes[o.snippet, o.track].add(o.wnid)
    assert all(len(c) == 1 for c in classes.values()), "a track changed class"


def unclipped(box: tuple[int, ...], size: tuple[int, int]) -> bool:
    return 0 < box[0] and 0 < box[1] and box[2] < size[0] - 1 and box[3] < size[1] - 1


def test_tracks_move_smoothly(frames) -> None:
    """Between consecutive frames an unclipped box moves and rescales a little, never jumps."""
    for parsed in frames.values():
        (w, h) = size = parsed[0]["size"]
        boxes = {(i, o["track"]): o["box"] for i, f in enumerate(parsed) for o in f["objects"]}
        for (i, track), (x0, y0, x1, y1) in boxes.items():
            prev = boxes.get((i - 1, track))
            if prev is None or not (unclipped(prev, size) and unclipped((x0, y0, x1, y1), size)):
                continue
            p0, q0, p1, q1 = prev
            assert abs(x0 + x1 - p0 - p1) / 2 <= 0.06 * w and abs(y0 + y1 - q0 - q1) / 2 <= 0.06 * h
            assert 0.8 <= (x1 - x0 + 1) / (p1 - p0 + 1) <= 1.25 and 0.8 <= (y1 - y0 + 1) / (q1 - q0 + 1) <= 1.25


def test_every_xml_has_a_decodable_jpeg_of_its_size(tree, frames) -> None:
    root, _ = tree
    for snippet, parsed in frames.items():
        data_dir = root / "Data" / "VID" / snippet
        assert sorted(p.name for p in data_dir.iterdir()) == [f"{f['filename']}.JPEG" for f in parsed]
        for f in parsed:
            image = cv2.imread(str(data_dir / f"{f['filename']}.JPEG"))
            assert image is not None and image.dtype == np.uint8
            assert (image.shape[1], image.shape[0]) == f["size"]


def test_boxes_inside_frame_and_sensible_size(frames) -> None:
    for parsed in frames.values():
        for f in parsed:
            w, h = f["size"]
            scale = min(h / 720, w / 960)
            tracks = [o["track"] for o in f["objects"]]
            assert len(tracks) == len(set(tracks)) <= 3
            for o in f["objects"]:
                x0, y0, x1, y1 = o["box"]
                assert 0 <= x0 <= x1 <= w - 1 and 0 <= y0 <= y1 <= h - 1
                if unclipped(o["box"], f["size"]):
                    assert 40 * scale <= min(x1 - x0, y1 - y0) and max(x1 - x0, y1 - y0) <= 420 * scale


def test_special_cases_exist(frames) -> None:
    present: dict[tuple[str, int], list[int]] = defaultdict(list)
    for snippet, parsed in frames.items():
        for i, f in enumerate(parsed):
            for o in f["objects"]:
                present[snippet, o["track"]].append(i)
    assert any(max(np.diff(idx, prepend=idx[0])) > 1 for idx in present.values()), "no leave-and-return track"
    all_frames = [f for parsed in frames.values() for f in parsed]
    objs = [(f, o) for f in all_frames for o in f["objects"]]
    assert any(not f["objects"] for f in all_frames), "no empty frame"
    assert any(len(f["objects"]) >= 3 for f in all_frames), "no frame with several objects"
    assert any(o["box"][0] == 0 for _, o in objs), "no box clipped at the left edge"
    assert any(o["box"][3] == f["size"][1] - 1 for f, o in objs), "no box clipped at the bottom edge"
    assert any(o["occ"] == 1 for _, o in objs) and any(o["occ"] == 0 for _, o in objs)
    assert any(o["gen"] == 1 for _, o in objs) and any(o["gen"] == 0 for _, o in objs)
    big = [f for f in all_frames if f["size"] == (1280, 720) and f["objects"]]
    big = [f for f in big if all(min(x1 - x0, y1 - y0) > 250 for x0, y0, x1, y1 in (o["box"] for o in f["objects"]))]
    assert len(big) >= 5, "too few 1280x720 frames where every box is large"


def edge_box(image: np.ndarray, window: tuple[int, int, int, int], threshold: float = 24) -> tuple[int, ...]:
    """Bounding box (full-frame coordinates) of the strong colour edges inside window."""
    wx0, wy0, wx1, wy1 = window
    crop = image[wy0 : wy1 + 1, wx0 : wx1 + 1].astype(np.float32)
    gx = np.abs(crop[:, 2:] - crop[:, :-2]).max(axis=2)[1:-1, :]
    gy = np.abs(crop[2:] - crop[:-2]).max(axis=2)[:, 1:-1]
    ys, xs = np.nonzero(np.maximum(gx, gy) > threshold)
    return (xs.min() + wx0 + 1, ys.min() + wy0 + 1, xs.max() + wx0 + 1, ys.max() + wy0 + 1)


def test_drawn_shape_fills_its_box(tree, frames) -> None:
    """Where an object is alone and fully inside, the edges seen in the JPEG span its box, centred on it.

    The background is smooth, so strong edges come from the shape; JPEG blur and the occasional
    low-contrast stretch of outline make single measurements noisy, hence the statistics."""
    root, _ = tree
    side_errors, centre_errors = [], []
    for snippet, parsed in frames.items():
        for f in parsed:
            (w, h), boxes = f["size"], [o["box"] for o in f["objects"]]
            for box in boxes:
                m = max(8, (box[2] - box[0]) // 6, (box[3] - box[1]) // 6)
                window = (box[0] - m, box[1] - m, box[2] + m, box[3] + m)
                near = [b for b in boxes if b is not box and overlap(b, window, margin=4)]
                if near or min(window[:2]) < 0 or window[2] >= w or window[3] >= h:
                    continue
                found = edge_box(cv2.imread(str(root / "Data" / "VID" / snippet / f"{f['filename']}.JPEG")), window)
                side_errors.append(np.abs(np.subtract(found, box)).max())
                centre_errors.append(np.abs(np.subtract(found, box).reshape(2, 2).sum(axis=0) / 2).max())
    side_errors, centre_errors = np.array(side_errors), np.array(centre_errors)
    assert len(side_errors) >= 40
    assert np.mean(side_errors <= 3) >= 0.8 and np.mean(side_errors <= 5) >= 0.95 and side_errors.max() <= 24
    assert np.median(centre_errors) <= 1 and np.mean(centre_errors <= 2) >= 0.95


def overlap(p: tuple[int, ...], q: tuple[int, ...], margin: int = 0) -> bool:
    return p[0] <= q[2] + margin and q[0] - margin <= p[2] and p[1] <= q[3] + margin and q[1] - margin <= p[3]


def test_jpeg_size_is_realistic(tree, frames) -> None:
    root, _ = tree
    sizes = [
        (root / "Data" / "VID" / s / f"{f['filename']}.JPEG").stat().st_size
        for s, parsed in frames.items()
        for f in parsed
        if f["size"] == (1280, 720)
    ]
    assert len(sizes) >= 24 and 10_000 <= np.mean(sizes) <= 80_000


def test_imagesets(tree, frames) -> None:
    root, _ = tree
    sets = root / "ImageSets" / "VID"
    val = [line.split() for line in (sets / "val.txt").read_text().splitlines()]
    expected = [f"{s[4:]}/{f['filename']}" for s, parsed in frames.items() if s.startswith("val/") for f in parsed]
    assert [name for name, _ in val] == expected
    assert [int(i) for _, i in val] == list(range(1, len(expected) + 1))
    for c, wnid in enumerate(WNIDS, 1):
        listed = [line.split() for line in (sets / f"train_{c}.txt").read_text().splitlines()]
        shown = sorted(
            s[6:]
            for s, parsed in frames.items()
            if s.startswith("train/") and any(o["wnid"] == wnid for f in parsed for o in f["objects"])
        )
        assert listed == [[s, "1"] for s in shown]


def test_deterministic_per_seed(tree, tmp_path: Path) -> None:
    root, objects = tree
    again = generate(tmp_path / "a")
    assert again == objects
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert all((root / p).read_bytes() == (tmp_path / "a" / p).read_bytes() for p in files)
    other = generate(tmp_path / "b", SynthConfig(seed=1))
    assert [o.box for o in other] != [o.box for o in objects]


def test_refuses_to_overwrite(tree) -> None:
    root, _ = tree
    with pytest.raises(FileExistsError, match=re.escape(str(root / "Data" / "VID"))):
        generate(root)


def test_small_config_with_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = SynthConfig(train_snippets=1, val_snippets=1, frames=3, quality=75, sizes=((320, 240),))
    objects = generate(tmp_path, cfg, progress=True)
    assert "synthetic VID" in capsys.readouterr().err
    jpegs = sorted(tmp_path.glob("Data/VID/**/*.JPEG"))
    assert len(jpegs) == 3 + 1 and len(list(tmp_path.glob("Annotations/VID/**/*.xml"))) == 4
    assert {o.snippet for o in objects} <= {
        "train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000",
        "val/ILSVRC2015_val_00000000",
    }
    assert all(cv2.imread(str(p)).shape == (240, 320, 3) for p in jpegs)


@pytest.mark.parametrize(("fmt", "train", "val"), [
    ("vid", [3, 1, 3, 1], [3]),  # --frames 3; every second snippet has 4 fewer, at least 1
    ("got10k", [3] * 4, [3]),
    ("lasot", [3] * 4, [3]),
    ("trackingnet", [3, 3, 3, 2], [3]),  # the last training video lacks its middle frame file
    ("coco", [4], [1]),  # COCO has no sequences: --train-snippets and --val-snippets count images
])
def test_synth_cli_writes_what_its_help_says(fmt, train, val, tmp_path, capsys) -> None:
    """``siamfc synth --format F --train-snippets 4 --val-snippets 1 --frames 3``: per split, one count of image
    files per sequence folder (COCO: per split folder), as ``siamfc synth --help`` describes the options."""
    out = tmp_path / fmt
    assert main(["synth", str(out), "--format", fmt, "--train-snippets", "4", "--val-snippets", "1",
                 "--frames", "3"]) == 0
    images = [p for p in out.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg")]
    assert f": {len(images)} images, " in capsys.readouterr().out
    per_folder = Counter(p.parent for p in images)
    val_words = ("val", "TEST", "testing")

    def is_val(folder: Path) -> bool:
        rel = folder.relative_to(out).as_posix()
        if fmt == "lasot":
            names = (out / "testing_set.txt").read_text().split()
            return any(part in names for part in rel.split("/"))
        return any(w in rel for w in val_words)

    assert sorted(n for f, n in per_folder.items() if not is_val(f)) == sorted(train)
    assert sorted(n for f, n in per_folder.items() if is_val(f)) == sorted(val)
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(COCO: train2017 images)" in help_text and "COCO: images drawn from one scene" in help_text


@pytest.mark.parametrize("option", ["--frames=0", "--train-snippets=-1", "--val-snippets=-2"])
def test_synth_cli_refuses_counts_out_of_range(option, tmp_path, capsys) -> None:
    assert main(["synth", str(tmp_path / "out"), "--format", "coco", option]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{option.split('=')[0]} must be at least" in err
    assert not (tmp_path / "out").exists()
