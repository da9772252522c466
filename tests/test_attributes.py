"""Per-attribute figures (`siamfc eval --attributes DIR`): synthetic attribute folders in UAV123's, LaSOT's toolkit's
and OTB's layouts, with known per-sequence figures; each attribute's figure is checked against the mean computed
here over exactly the sequences flagged with it, and every missing or bad file against its one line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from siamfc.model.attributes import ATTRIBUTE_SETS, attribute_report, read_attribute_file
from siamfc.model.eval_sequences import EvalSequence
from siamfc.model.evaluate import EvalReport, SequenceResult
from siamfc.model.metrics import sequence_curves

UAV123 = SimpleNamespace(name="uav123", result_dir=("UAV123",), one_based=True)
LASOT = SimpleNamespace(name="lasot", result_dir=("LaSOT",), one_based=True)
OTB = SimpleNamespace(name="otb2015", result_dir=("OTB2015",), one_based=True)


def flags_line(flags) -> str:
    return ",".join(str(int(f)) for f in flags) + "\n"


def test_uav_attribute_figures_are_means_over_exactly_the_flagged_sequences(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"seq{i}" for i in range(9)]
    per_sequence = {n: {"auc": float(rng.uniform()), "precision_20": float(rng.uniform()),
                        "norm_precision": float(rng.uniform())} for n in names}
    report = {"name": "SiamFC", "dataset": str(tmp_path), "per_sequence": per_sequence}
    att = tmp_path / "anno" / "UAV123" / "att"
    att.mkdir(parents=True)
    flags = {n: rng.integers(0, 2, 12).astype(bool) for n in names[:7]}
    for f in flags.values():
        f[11] = False  # SOB: no sequence has it
    flags["seq0"][0] = flags["seq1"][0] = True
    for n, f in flags.items():
        (att / f"{n}.txt").write_text(flags_line(f))
    (att / "seq7.txt").write_text("1,0,0,0,0,0,0,0,0,0,0,0,1\n")  # 13 values: a bad file
    # seq8: no attribute file
    lines = attribute_report(report, UAV123, None, tmp_path / "out")
    table = json.loads((tmp_path / "out" / "SiamFC_attributes.json").read_text())
    rows = table["runs"]["SiamFC"]
    assert [r["attribute"] for r in rows] == list(ATTRIBUTE_SETS["UAV123"].short)
    for i, row in enumerate(rows):
        having = [n for n, f in flags.items() if f[i]]  # seq7 and seq8 are in no attribute
        assert row["sequences"] == len(having)
        for figure in ("auc", "precision_20", "norm_precision"):
            if having:
                assert row[figure] == pytest.approx(sum(per_sequence[n][figure] for n in having) / len(having))
            else:
                assert row[figure] is None
    assert rows[11]["sequences"] == 0 and rows[0]["sequences"] >= 2
    assert table["sequences_with_attributes"] == 7 and table["sequences"] == 9
    text = "\n".join(lines)
    assert f"attributes: {att / 'seq7.txt'}, line 1: 13 values, UAV123 has 12 attributes" in text
    assert "seq7 left out of the attribute table" in text
    assert "attributes: seq8: no attribute file" in text and "seq8" in text
    assert sum("left out of the attribute table" in line for line in lines) == 2  # one line each
    assert "7 of 9 sequences with an attribute file" in text
    sv = next(line for line in lines if line.strip().startswith("SV "))
    assert f"{rows[0]['auc']:.3f}" in sv
    assert (tmp_path / "out" / "SiamFC_attributes.png").stat().st_size > 0


@pytest.mark.parametrize("line, message", [
    ("0,1,0,2,0,0,0,0,0,0,0,0", "value 4 (FM) is '2', not 0 or 1"),
    ("0,1,0,yes,0,0,0,0,0,0,0,0", "value 4 (FM) is 'yes', not 0 or 1"),
    ("0,1,0", "3 values, UAV123 has 12 attributes"),
    ("", "empty file"),
])
def test_bad_attribute_files_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bike1.txt"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=re.escape("line 1: " + message if line else message)) as err:
        read_attribute_file(path, ATTRIBUTE_SETS["UAV123"])
    assert str(path) in str(err.value)


def test_crlf_bom_and_spaces_are_read(tmp_path):
    path = tmp_path / "bike1.txt"
    path.write_bytes(b"\xef\xbb\xbf1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1\r\n\r\n")
    assert read_attribute_file(path, ATTRIBUTE_SETS["UAV123"]).tolist() == [True] + [False] * 10 + [True]


def _result(name: str, gt: np.ndarray, boxes: np.ndarray, layout: str = "lasot") -> SequenceResult:
    seq = EvalSequence(name, tuple(Path(f"{i}.jpg") for i in range(len(gt))), gt, layout)
    return SequenceResult(seq, boxes, np.full(len(gt), 0.01), 0.0, sequence_curves(boxes, gt))


def test_lasot_toolkit_folder_and_compared_runs(tmp_path):
    """An EvalReport whose sequences are tracked perfectly (AUC 20/21: every IoU 1) or not at all (AUC 0)."""
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (12, 1))
    far = gt + [300, 300, 0, 0]
    perfect = {"airplane/airplane-1", "bear/bear-2", "cat/cat-3"}
    names = sorted(perfect | {"dog/dog-4", "zebra/zebra-5"})
    report = EvalReport("SiamFC", str(tmp_path / "LaSOT"),
                        [_result(n, gt, gt if n in perfect else far) for n in names])
    toolkit = tmp_path / "LaSOT_Evaluation_Toolkit"
    att = toolkit / "annos" / "att"
    att.mkdir(parents=True)
    flags = {"airplane-1": [1] + [0] * 13, "bear-2": [1, 1] + [0] * 12, "cat-3": [0, 1] + [0] * 12,
             "dog-4": [1, 1] + [0] * 12, "zebra-5": [1] + [0] * 13}
    for n, f in flags.items():
        (att / f"{n}.txt").write_text(flags_line(f))
    other = {"name": "Published", "per_sequence": {n: {"auc": 0.5, "precision_20": 0.5, "norm_precision": 0.5}
                                                   for n in names[:3]}}
    lines = attribute_report(report, LASOT, toolkit, tmp_path / "out", runs=[other])
    table = json.loads((tmp_path / "out" / "SiamFC_attributes.json").read_text())
    iv, poc = table["runs"]["SiamFC"][0], table["runs"]["SiamFC"][1]
    assert iv["attribute"] == "IV" and iv["sequences"] == 4  # airplane, bear, dog, zebra: two tracked
    assert iv["auc"] == pytest.approx(20 / 21 * 2 / 4)
    assert poc["attribute"] == "POC" and poc["sequences"] == 3  # bear, cat, dog: two tracked
    assert poc["auc"] == pytest.approx(20 / 21 * 2 / 3)
    assert table["runs"]["Published"][0]["sequences"] == 2  # of its airplane, bear, cat: IV on two
    assert not [line for line in lines if "left out" in line]
    iv_line = next(line for line in lines if line.strip().startswith("IV "))
    assert "0.500 (2)" in iv_line  # the compared run's AUC over its own count
    # the toolkit's annos/ folder, or annos/att itself, is found the same way
    for given in (toolkit / "annos", att):
        again = attribute_report(report, LASOT, given, tmp_path / "again")
        assert any(line.strip().startswith("IV ") for line in again)


def test_otb_names_per_sequence_files_and_list_file(tmp_path):
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (8, 1))
    names = ["Basketball", "Jogging.1", "Crossing"]
    report = EvalReport("SiamFC", str(tmp_path), [_result(n, gt, gt, "otb2015") for n in names])
    (tmp_path / "Basketball").mkdir()
    (tmp_path / "Basketball" / "attrs.txt").write_text("IV, OCC, DEF, OPR, BC")
    (tmp_path / "Jogging").mkdir()
    (tmp_path / "Jogging" / "attrs.txt").write_text("OCC, DEF, OPR,\n")  # trailing comma, as the site lists it
    (tmp_path / "Crossing").mkdir()
    (tmp_path / "Crossing" / "attrs.txt").write_text("SV, DEF, XYZ")
    lines = attribute_report(report, OTB, None, tmp_path / "out")
    table = json.loads((tmp_path / "out" / "SiamFC_attributes.json").read_text())
    rows = {r["attribute"]: r for r in table["runs"]["SiamFC"]}
    assert rows["OCC"]["sequences"] == 2 and rows["IV"]["sequences"] == 1 and rows["SV"]["sequences"] == 0
    bad = [line for line in lines if "left out" in line]
    assert len(bad) == 1 and "Crossing" in bad[0] and "'XYZ' not among OTB's attributes" in bad[0]
    assert str(tmp_path / "Crossing" / "attrs.txt") in bad[0]
    # the same from one list file given to --attributes
    listing = tmp_path / "attr_list.txt"
    listing.write_text("Basketball\tIV, OCC, DEF, OPR, BC\nJogging-1\tOCC, DEF, OPR\nCrossing\tSV, DEF, FM, OPR, BC\n")
    attribute_report(report, OTB, listing, tmp_path / "out2")
    rows = {r["attribute"]: r for r in json.loads((tmp_path / "out2" / "SiamFC_attributes.json").read_text())
            ["runs"]["SiamFC"]}
    assert rows["OCC"]["sequences"] == 2 and rows["SV"]["sequences"] == 1 and rows["OPR"]["sequences"] == 3


def test_no_attributes_found_or_known(tmp_path):
    report = {"name": "SiamFC", "dataset": str(tmp_path),
              "per_sequence": {f"s{i}": {"auc": 0.5, "precision_20": 0.5, "norm_precision": 0.5} for i in range(30)}}
    lines = attribute_report(report, UAV123, None, tmp_path / "out")
    assert len(lines) == 1 and "no UAV123 attribute file for any of the 30 sequences" in lines[0]
    assert "--attributes" in lines[0]
    assert not (tmp_path / "out").exists()
    got10k = SimpleNamespace(name="got10k-val", result_dir=("GOT-10k",), one_based=False)
    assert attribute_report(report, got10k, None, tmp_path / "out") == []
    assert "no attribute list known" in attribute_report(report, got10k, tmp_path, tmp_path / "out")[0]
    assert "no such folder" in attribute_report(report, UAV123, tmp_path / "absent", tmp_path / "out")[0]


@pytest.mark.slow
def test_cli_eval_prints_the_attribute_table_and_compares_published_results(tmp_path, capsys):
    """`siamfc eval` on a synthetic UAV123 tree (its anno/UAV123/att holds synthcar1's file only), with a published
    folder holding the ground truth itself (1-based, as published) for two of its three sequences."""
    import shutil

    import torch

    from siamfc.curate.synth import uav
    from siamfc.model.net import SiamFCNet
    from siamfc.tools.cli import main

    data = tmp_path / "UAV123"
    uav.generate(data)
    published = tmp_path / "published" / "UAV123" / "Truth"
    published.mkdir(parents=True)
    for name in ("synthcar1", "synthperson1_1"):
        shutil.copy(data / "anno" / "UAV123" / f"{name}.txt", published / f"{name}.txt")
    torch.manual_seed(0)
    torch.save(SiamFCNet().state_dict(), tmp_path / "w.pt")
    out = tmp_path / "eval"
    assert main(["eval", "--dataset", str(data), "--benchmark", "uav123", "--weights", str(tmp_path / "w.pt"),
                 "--out", str(out), "--compare", str(tmp_path / "published"), "--device", "cpu",
                 "--no-progress"]) == 0
    printed = capsys.readouterr()
    # synthperson1_2 starts out of view: skipped by our run (no first box), so 2 sequences are evaluated
    assert "per-attribute figures on UAV123 (1 of 2 sequences with an attribute file" in printed.out
    assert "attributes: synthperson1_1: no attribute file" in printed.out
    assert "warning: published Truth" in printed.err and "compared on 2 of 3 sequences" in printed.err
    assert "1 sequence without a result file, left out: synthperson1_2" in printed.err
    table = json.loads((out / "SiamFC_attributes.json").read_text())
    fm = table["runs"]["SiamFC"][3]
    assert fm["attribute"] == "FM" and fm["sequences"] == 1  # synthcar1: 0,0,0,1,0,...
    truth = table["runs"]["Truth (2/3)"][3]
    assert truth["sequences"] == 1 and truth["auc"] == pytest.approx(20 / 21)  # the ground truth: every IoU 1
    assert (out / "SiamFC_attributes.png").is_file() and (out / "SiamFC.png").is_file()
    # our own toolkit results (OUT/results/UAV123/SiamFC, 1-based) read back as published: our report's figures
    from siamfc.model.eval_sequences import find_sequences
    from siamfc.model.published import load_published

    report = json.loads((out / "SiamFC.json").read_text())
    evaluated = [s for s in find_sequences(data, "uav123")[0] if s.name in report["per_sequence"]]
    again = load_published(out, "uav123", evaluated).named()["SiamFC"]
    assert again["source"] == str(out / "results" / "UAV123" / "SiamFC")
    for figure in ("auc", "precision_20", "norm_precision"):
        assert again[figure] == pytest.approx(report[figure], abs=1e-12)
