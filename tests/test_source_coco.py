"""COCO 2017 (``--format coco``): the synthetic tree curated and checked against its own ground truth, bad input,
resumption, and the box convention on a hand-made image."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.curate.errors import CurationError
from siamfc.curate.manifest import load_manifest
from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.schema import CurationSettings
from siamfc.curate.shards import ShardReader
from siamfc.curate.sources import FORMATS, detect_format
from siamfc.curate.sources import coco as source
from siamfc.curate.synth.scene import encode_jpeg

from source_checks import (
    assert_records_match,
    curate_quietly,
    record_table,
    skip_entries,
)

GROUP = 4  # images per snippet in these tests (the real 1000 would give one snippet per split)


@pytest.fixture(scope="module", autouse=True)
def small_groups():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(source, "GROUP_SIZE", GROUP)
        yield


@pytest.fixture(scope="module")
def tree(coco_tree, small_groups):
    """(root, truth) of the default synthetic COCO tree (conftest's, shared by the session), its truth regrouped
    GROUP images to a snippet."""
    root, truth = coco_tree
    group = {}
    for split in source.SPLITS:
        ids = sorted(e["id"] for e in _json(root, split)["images"])
        group.update({(split, i): f"{split}/{split}2017-{k // GROUP:03d}" for k, i in enumerate(ids)})
    return root, [dataclasses.replace(t, snippet=group[t.snippet.split("/")[0], t.frame]) for t in truth]


@pytest.fixture(scope="module")
def curated(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("coco-out") / "jpeg"
    return out, curate_quietly(tree[0], out, shards=3)


def _json(root: Path, split: str) -> dict:
    return json.loads((root / "annotations" / f"instances_{split}2017.json").read_text())


def _write_json(root: Path, split: str, data: dict) -> None:
    (root / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(data, separators=(",", ": ")))


def test_layout_is_recognised_and_no_other_format_claims_it(tree, tmp_path):
    root, _ = tree
    assert detect_format(root) == "coco"
    assert [name for name, f in FORMATS.items() if f.looks_like(root)] == ["coco"]
    assert FORMATS["coco"].still_images
    (tmp_path / "Annotations" / "VID").mkdir(parents=True)  # an ILSVRC tree, and an empty annotations folder
    (tmp_path / "annotations").mkdir()
    assert not source.looks_like(tmp_path)


def test_images_are_grouped_in_image_id_order(tree):
    root, _ = tree
    found = source.search(root, source.SPLITS)
    ids = [s.id for s in found.sequences]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    for split in source.SPLITS:
        groups = [s for s in found.sequences if s.split == split]
        image_ids = sorted(e["id"] for e in _json(root, split)["images"])  # the JSON lists them shuffled
        assert [s.id for s in groups] == [f"{split}/{split}2017-{g:03d}" for g in range(-(-len(image_ids) // GROUP))]
        frames = [[f.index for f in s.read().frames] for s in groups]
        assert sum(frames, []) == image_ids
        assert [len(f) for f in frames[:-1]] == [GROUP] * (len(groups) - 1)
        for s in groups:
            read = s.read()
            assert s.frame_count() == read.seen == len(read.frames)
            assert all(int(f.path.stem) == f.index and f.path.parent == root / f"{split}2017" for f in read.frames)
            assert s.input_files() == [root / "annotations" / f"instances_{split}2017.json"] + [
                f.path for f in read.frames]
            assert pickle.loads(pickle.dumps(s)) == s and s.read() == read  # workers get a copy; reading is pure
    assert sorted(found.passed_over) == sorted(
        f"{root}/annotations/instances_{split}2017.json: 1 crowd annotation(s) (iscrowd 1) not curated: a crowd "
        "region is no one object" for split in source.SPLITS)


def test_records_match_the_annotations(tree, curated):
    root, truth = tree
    out, summary = curated
    m = assert_records_match(out, truth)
    assert m.still_images and m.source == "coco" and len(m.hidden) == 0
    assert skip_entries(out) == []
    images = [e for split in source.SPLITS for e in _json(root, split)["images"]]
    assert summary.frames == len(images)
    assert summary.frames_decoded == len({t.frame for t in truth}) < len(images)  # an image without instances
    crowd = {a["id"] for split in source.SPLITS for a in _json(root, split)["annotations"] if a["iscrowd"]}
    assert len(crowd) == 2 and not crowd & {int(t) for t in m.records["track"]}
    assert {(t.width, t.height) for t in truth} >= {(1920, 1080), (427, 640)}


# Crops against the reference and a missing image file: the common checks of every format, in
# test_source_contract.py.


def test_resume_in_two_runs_equals_one_run(tree, curated, tmp_path):
    root, _ = tree
    out = tmp_path / "steps"
    def run(**kw):
        return curate(CurationConfig(source=root, out=out, progress=False, settings=CurationSettings(shards=3), **kw))

    assert run(max_snippets=3).snippets_curated == 3
    second = run()
    assert second.snippets_already_done == 3 and second.snippets_curated == second.snippets_total - 3
    one, two = record_table(load_manifest(curated[0])), record_table(load_manifest(out))
    assert one.keys() == two.keys()
    fields = [n for n in one[next(iter(one))].dtype.names if n != "snippet"]
    assert all(tuple(one[k][fields]) == tuple(two[k][fields]) for k in one)


def test_refresh_redoes_the_changed_group_or_every_group_when_the_json_changes(tree, tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(tree[0], root)
    out = tmp_path / "out"

    def run():
        return curate(CurationConfig(source=root, out=out, progress=False, refresh=True,
                                     settings=CurationSettings(shards=2)))

    total = run().snippets_curated
    image = sorted((root / "val2017").iterdir())[0]
    later = image.stat().st_mtime_ns + 10**9
    os.utime(image, ns=(later, later))
    assert run().snippets_changed == 1
    json_path = root / "annotations" / "instances_train2017.json"
    os.utime(json_path, ns=(later, later))
    redone = run()
    assert redone.snippets_changed == sum(1 for s in source.search(root, ("train",)).sequences) < total


# -- bad input ---------------------------------------------------------------------------------------------------


def _annotated_images(truth, split: str) -> list[int]:
    """Image ids of the split that have instances, in id order."""
    return sorted({t.frame for t in truth if t.snippet.startswith(f"{split}/")})


@pytest.fixture(scope="module")
def broken(tree, tmp_path_factory):
    """A copy of the tree with one damage per image; (root, keys lost, expected skip entries, curation)."""
    src, truth = tree
    root = tmp_path_factory.mktemp("broken") / "coco"
    shutil.copytree(src, root)
    of_image = defaultdict(list)
    for t in truth:
        of_image[t.frame].append(t)
    lost: set[tuple[str, int, int]] = set()
    expected: list[tuple[str, int | None, int | None, str, str]] = []  # snippet, frame, track, reason, in detail
    first_group = {split: f"{split}/{split}2017-000" for split in source.SPLITS}

    def lose(t, reason, where, track=True):
        lost.add((t.snippet, t.track, t.frame))
        expected.append((t.snippet, t.frame, t.track if track else None, reason, where))

    train, val = _json(root, "train"), _json(root, "val")
    tjson, vjson = (str(root / "annotations" / f"instances_{s}2017.json") for s in ("train", "val"))
    anns = {a["id"]: a for a in train["annotations"] + val["annotations"]}
    a_, b_, c_, d_, e_, f_, g_ = _annotated_images(truth, "train")[:7]
    h_, i_, j_, k_ = _annotated_images(truth, "val")[:4]

    t = of_image[a_][0]  # a key missing
    del anns[t.track]["bbox"]
    lose(t, "object_malformed", f"{tjson}: annotation {t.track}: lacks 'bbox'")
    t = of_image[b_][0]  # three numbers
    anns[t.track]["bbox"] = anns[t.track]["bbox"][:3]
    lose(t, "box_malformed", f"{tjson}: annotation {t.track}: bbox")
    t = of_image[c_][0]  # NaN (Python's json writes it, as a careless converter would)
    anns[t.track]["bbox"][0] = float("nan")
    lose(t, "box_malformed", f"{tjson}: annotation {t.track}: bbox [nan")
    t = of_image[d_][0]  # zero width
    anns[t.track]["bbox"][2] = 0.0
    lose(t, "box_empty", f"{tjson}: annotation {t.track} (image {d_:012d}.jpg): bbox")
    t = of_image[e_][0]  # an unknown category
    anns[t.track]["category_id"] = 999
    lose(t, "class_unknown", f"{tjson}: annotation {t.track}: category_id 999")
    t = of_image[f_][0]  # wholly right of the image
    anns[t.track]["bbox"][0] = t.width + 50.0
    lose(t, "box_outside_frame", f"{tjson}: annotation {t.track} (image {f_:012d}.jpg): bbox")
    # g_ keeps its image file: a missing one is test_source_contract.py's

    for t in of_image[h_]:  # the image entry's size disagrees with the JPEG
        lose(t, "size_mismatch", f"{root / 'val2017' / t.path.name}: JPEG is")
    next(e for e in val["images"] if e["id"] == h_)["width"] += 1
    for t in of_image[i_]:  # the image entry lacks its file name: its instances go with it
        lost.add((t.snippet, t.track, t.frame))
    del next(e for e in val["images"] if e["id"] == i_)["file_name"]
    expected.append((first_group["val"], None, None, "xml_malformed", f"{vjson}: image {i_}: file_name None"))
    expected.append((first_group["val"], None, None, "xml_malformed",
                     f"{vjson}: {len(of_image[i_])} annotation(s) of the malformed image entry {i_}"))
    t = of_image[j_][0]  # an id beyond int32 (not a crowd)
    index = val["annotations"].index(anns[t.track])
    anns[t.track]["id"] = 2**31
    lose(t, "object_malformed", f"{vjson}: annotations[{index}]: id {2**31}", track=False)
    t = of_image[k_][0]  # the same id again, later in the list: the first stays
    val["annotations"].append(dict(anns[t.track], bbox=[1.0, 1.0, 5.0, 5.0]))
    expected.append((t.snippet, t.frame, t.track, "duplicate_track", f"{vjson}: annotation {t.track}: "))
    val["annotations"].append(dict(anns[t.track], id=12, image_id=7))  # no image 7
    expected.append((first_group["val"], None, 12, "object_malformed", f"{vjson}: annotation 12: image_id 7 names "
                                                                        "no image"))
    _write_json(root, "train", train)
    _write_json(root, "val", val)
    out = tmp_path_factory.mktemp("broken-out") / "cur"
    return root, lost, expected, out, curate_quietly(root, out, shards=2)


def test_every_bad_input_is_reported_with_file_id_and_reason(broken):
    _, _, expected, out, summary = broken
    report = skip_entries(out)
    got = Counter((e["snippet"], e["frame"], e["track"], e["reason"]) for e in report)
    assert got == Counter((s, f, t, r) for s, f, t, r, _ in expected)
    for snippet, frame, track, reason, where in expected:
        details = [e["detail"] for e in report if (e["snippet"], e["frame"], e["track"], e["reason"]) == (
            snippet, frame, track, reason)]
        assert any(d.startswith(where) for d in details), (where, details)
    assert summary.skipped == len(report)


def test_good_records_survive_bad_neighbours(tree, broken):
    _, truth = tree
    _, lost, _, out, _ = broken
    assert_records_match(out, [t for t in truth if (t.snippet, t.track, t.frame) not in lost])


def test_a_split_whose_json_cannot_be_read_is_passed_over(tree, tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(tree[0], root)
    val_json = root / "annotations" / "instances_val2017.json"
    val_json.write_bytes(val_json.read_bytes()[:5000])  # cut short
    summary = curate_quietly(root, tmp_path / "out")
    assert any(line.startswith(f"{val_json}: not readable JSON") and line.endswith("split val not curated")
               for line in summary.folders_passed_over)
    assert_records_match(tmp_path / "out", [t for t in tree[1] if t.snippet.startswith("train/")])
    with pytest.raises(CurationError, match=f"{val_json}: not readable JSON"):
        curate_quietly(root, tmp_path / "val-only", splits=("val",))
    val_json.write_text('{"images": []}')
    with pytest.raises(CurationError, match=f"{val_json}: not COCO instances \\(no annotations, categories list"):
        curate_quietly(root, tmp_path / "val-only", splits=("val",))
    shutil.rmtree(root / "train2017")  # the JSON without its images
    with pytest.raises(CurationError, match=f"{root / 'train2017'}: no such folder; split train"):
        curate_quietly(root, tmp_path / "none")


# -- the box convention ------------------------------------------------------------------------------------------


def test_box_convention_on_a_drawn_rectangle(tmp_path):
    """A white rectangle over pixel columns 50..89 and rows 30..59 is COCO bbox [50, 30, 40, 30]: its record is
    xyxy (50, 30, 89, 59) and its exemplar crop is centred on the rectangle."""
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "val2017").mkdir()
    image = np.zeros((120, 160, 3), np.uint8)
    image[30:60, 50:90] = 255
    (root / "val2017" / "000000000042.jpg").write_bytes(encode_jpeg(image, 100))
    anns = [
        {"segmentation": [[50, 30, 90, 30, 90, 60, 50, 60]], "area": 1200.0, "iscrowd": 0, "image_id": 42,
         "bbox": [50.0, 30.0, 40.0, 30.0], "category_id": 3, "id": 7},
        {"segmentation": [[10.2, 10.4, 10.8, 10.4, 10.8, 10.9]], "area": 0.15, "iscrowd": 0, "image_id": 42,
         "bbox": [10.2, 10.4, 0.6, 0.5], "category_id": 3, "id": 8},  # under a pixel: kept
        {"segmentation": [[5, 5, 5, 8]], "area": 0.0, "iscrowd": 0, "image_id": 42,
         "bbox": [5.0, 5.0, 0.0, 3.0], "category_id": 3, "id": 9},  # empty
        {"segmentation": {"counts": [19200], "size": [120, 160]}, "area": 0, "iscrowd": 1, "image_id": 42,
         "bbox": [0.0, 0.0, 1.0, 1.0], "category_id": 3, "id": 900100000042},  # a crowd: left out, not reported
    ]
    data = {"info": {}, "licenses": [], "images": [{"file_name": "000000000042.jpg", "height": 120, "width": 160,
                                                     "id": 42}],
            "annotations": anns, "categories": [{"supercategory": "vehicle", "id": 3, "name": "car"}]}
    _write_json(root, "val", data)
    out = tmp_path / "out"
    curate_quietly(root, out, encoding="raw", max_reduction=1)
    rows = record_table(load_manifest(out))
    assert sorted(rows) == [("val/val2017-000", 7, 42), ("val/val2017-000", 8, 42)]
    box = [float(rows["val/val2017-000", 7, 42][c]) for c in ("xmin", "ymin", "xmax", "ymax")]
    assert box == [50, 30, 89, 59]
    tiny = [float(rows["val/val2017-000", 8, 42][c]) for c in ("xmin", "ymin", "xmax", "ymax")]
    assert np.allclose(tiny, [10.2, 10.4, 9.8, 9.9])  # width xmax - xmin + 1 = 0.6
    assert [(e["track"], e["reason"]) for e in skip_entries(out)] == [(9, "box_empty")]
    reader = ShardReader(out)
    z, _ = reader.crops(b"val/val2017-000/0007/000042")
    reader.close()
    weight = cv2.cvtColor(z, cv2.COLOR_BGR2GRAY).astype(np.float64)
    weight = np.where(weight > 128, weight, 0)
    ys, xs = np.mgrid[: z.shape[0], : z.shape[1]]
    centre = (float((xs * weight).sum() / weight.sum()), float((ys * weight).sum() / weight.sum()))
    # 63 is the crop's centre pixel; half a pixel off in the frame (pysot's x + w / 2) would move it by 0.9 here
    assert np.allclose(centre, (63, 63), atol=0.15), centre


def test_a_class_no_object_has_is_named_in_the_summary(tree, tmp_path):
    root, truth = tree
    kept = sorted({t.cls for t in truth})[0]
    summary = curate_quietly(root, tmp_path / "out", shards=1, classes=(kept, "no such class"))
    assert summary.classes_not_found == ["no such class"] and summary.records > 0
    assert any("'no such class'" in line and "--classes" in line for line in summary.lines())
    again = curate_quietly(root, tmp_path / "all", shards=1, classes=(kept,))
    assert again.classes_not_found == [] and not any(line.startswith("classes") for line in again.lines())
