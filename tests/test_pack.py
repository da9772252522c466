"""`siamfc pack`: the zips the GOT-10k and TrackingNet servers take, and the check that runs before one is written.

GOT-10k results come from the got10k toolkit itself (``ExperimentGOT10k.run`` on a small test tree with a stand-in
tracker), and its own submission zip (``ExperimentGOT10k.report``) is the reference for ours. TrackingNet results
are written by hand as pytracking writes them (one comma-separated ``<video>.txt`` per video).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.curate.folder import PLAN_FILE
from siamfc.curate.schema import SETTINGS_FILE, CurationSettings
from siamfc.model import submission
from siamfc.tools.cli import main

GOT_FRAMES = {"GOT-10k_Test_000001": 4, "GOT-10k_Test_000002": 6, "GOT-10k_Test_000003": 3}
GOT_FIRST = {"GOT-10k_Test_000001": "10.0000,12.0000,30.0000,20.0000",
             "GOT-10k_Test_000002": "5.5000,6.2500,12.0000,14.0000",
             "GOT-10k_Test_000003": "0.0000,1.0000,8.0000,9.0000"}
TN_FRAMES = {"-3TIfnTSM6c_2": 5, "a0Zb_Xr3nCw_0": 3, "zz9-Q_0": 4}
TN_FIRST = {"-3TIfnTSM6c_2": "-4.07,96.34,236.30,172.80", "a0Zb_Xr3nCw_0": "12.00,14.50,30.25,20.75",
            "zz9-Q_0": "1.00,2.00,3.00,4.00"}


def _frame(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((24, 32, 3), 90, np.uint8))


@pytest.fixture(scope="module")
def got_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GOT-10k tree with a test split of three sequences (real JPEG frames, a one-line groundtruth.txt)."""
    root = tmp_path_factory.mktemp("got") / "GOT-10k"
    for name, n in GOT_FRAMES.items():
        for i in range(1, n + 1):
            _frame(root / "test" / name / f"{i:08d}.jpg")
        (root / "test" / name / "groundtruth.txt").write_text(GOT_FIRST[name] + "\n")
    (root / "test" / "list.txt").write_text("\n".join(GOT_FRAMES) + "\n")
    return root


class Still:
    """A deterministic stand-in tracker speaking the got10k toolkit's interface."""

    name, is_deterministic = "Still", True

    def track(self, img_files: list[str], box: np.ndarray, visualize: bool = False) -> tuple[np.ndarray, np.ndarray]:
        boxes = np.tile(np.asarray(box, float), (len(img_files), 1))
        boxes[1:, :2] += 0.5 * np.arange(1, len(img_files))[:, None]
        return boxes, np.full(len(img_files), 0.0125)


@pytest.fixture(scope="module")
def toolkit_run(got_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(tracker folder the toolkit wrote, the toolkit's own submission zip)``."""
    from got10k.experiments import ExperimentGOT10k

    out = tmp_path_factory.mktemp("toolkit")
    experiment = ExperimentGOT10k(str(got_root), subset="test", result_dir=str(out / "results"),
                                  report_dir=str(out / "reports"))
    with contextlib.redirect_stdout(io.StringIO()):
        experiment.run(Still())
        experiment.report([Still.name])
    folder = out / "results" / "GOT-10k" / Still.name
    return folder, folder.parent / f"{Still.name}.zip"


@pytest.fixture()
def got_results(toolkit_run: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the toolkit's results in siamfc eval's layout: OUT/results/GOT-10k/<tracker>/..."""
    folder = tmp_path / "eval" / "results" / "GOT-10k" / Still.name
    shutil.copytree(toolkit_run[0], folder)
    return folder


@pytest.fixture(scope="module")
def tn_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TrackingNet tree with a TEST chunk of three videos (frames from 0.jpg, a one-line CRLF anno file)."""
    root = tmp_path_factory.mktemp("tn") / "TrackingNet"
    for name, n in TN_FRAMES.items():
        for i in range(n):
            _frame(root / "TEST" / "frames" / name / f"{i}.jpg")
        (root / "TEST" / "anno").mkdir(parents=True, exist_ok=True)
        (root / "TEST" / "anno" / f"{name}.txt").write_bytes(TN_FIRST[name].encode() + b"\r\n")
    return root


@pytest.fixture()
def tn_results(tmp_path: Path) -> Path:
    """TrackingNet results as pytracking writes them: a flat folder of comma-separated <video>.txt."""
    folder = tmp_path / "tn-results"
    folder.mkdir()
    for name, n in TN_FRAMES.items():
        first = np.array([float(v) for v in TN_FIRST[name].split(",")])
        boxes = np.tile(first, (n, 1)) + np.array([1.0, 0.5, 0, 0]) * np.arange(n)[:, None]
        np.savetxt(folder / f"{name}.txt", boxes, fmt="%.2f", delimiter=",")
    return folder


def pack(*argv: str, capsys: pytest.CaptureFixture) -> tuple[int, list[str], str]:
    """``(exit status, stdout lines, stderr)`` of ``siamfc pack ARGV``."""
    code = main(["pack", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def zip_files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- packs that pass ---------------------------------------------------------------------------------------------
def test_got10k_pack_is_the_toolkits_zip(got_root: Path, got_results: Path, toolkit_run: tuple[Path, Path],
                                         tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "sub.zip"
    code, lines, err = pack("got10k", str(got_results.parents[2]), "--dataset", str(got_root), "--out", str(out),
                            capsys=capsys)
    assert code == 0, (lines, err)
    ours = zip_files(out)
    assert ours == folder_files(got_results)  # every file, byte for byte, sequence folders at the top level
    with zipfile.ZipFile(out) as mine, zipfile.ZipFile(toolkit_run[1]) as theirs:  # the same entries (folders too)
        assert sorted(mine.namelist()) == sorted(theirs.namelist())  # as the toolkit's own submission zip
    assert sorted({name.split("/")[0] for name in ours}) == sorted(GOT_FRAMES)
    assert all(len(name.split("/")) == 2 for name in ours)
    for name, n in GOT_FRAMES.items():  # independent read: as the server reads them
        boxes = np.loadtxt(io.BytesIO(ours[f"{name}/{name}_001.txt"]), delimiter=",", ndmin=2)
        assert boxes.shape == (n, 4)
        assert np.allclose(boxes[0], [float(v) for v in GOT_FIRST[name].split(",")])
    assert pack("--check", str(out), "--dataset", str(got_root), capsys=capsys)[0] == 0  # its own check
    assert pack("got10k", "--check", str(toolkit_run[1]), "--dataset", str(got_root), capsys=capsys)[0] == 0


def test_trackingnet_pack_is_flat(tn_root: Path, tn_results: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "tn.zip"
    code, lines, err = pack("trackingnet", str(tn_results), "--dataset", str(tn_root), "--out", str(out),
                            capsys=capsys)
    assert code == 0, (lines, err)
    ours = zip_files(out)
    assert ours == folder_files(tn_results)
    assert sorted(ours) == sorted(f"{name}.txt" for name in TN_FRAMES)  # at the zip's root, no folder
    for name, n in TN_FRAMES.items():  # as the devkit's metrics.py finds and reads them
        matches = [member for member in ours if f"{name}.txt" in member]
        assert len(matches) == 1
        boxes = np.loadtxt(io.BytesIO(ours[matches[0]]), delimiter=",", ndmin=2)
        assert boxes.shape == (n, 4)
    code, lines, err = pack("--check", str(out), "--dataset", str(tn_root), capsys=capsys)
    assert code == 0, (lines, err)
    assert "no problem found" in lines[-1]


def test_trackingnet_toolkit_layout_and_no_dataset(tn_root: Path, tn_results: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    """OTB-style TrackingNet/<tracker>/<video>.txt with times/ beside: found from the folder above; without
    --dataset the videos found are checked and the missing count said."""
    tracker = tmp_path / "results" / "TrackingNet" / "Still"
    shutil.copytree(tn_results, tracker)
    (tracker / "times").mkdir()
    for name in TN_FRAMES:
        (tracker / "times" / f"{name}_time.txt").write_text("0.01\n")
    out = tmp_path / "t.zip"
    code, lines, err = pack(str(tmp_path / "results"), "--out", str(out), capsys=capsys)
    assert code == 0, (lines, err)
    assert zip_files(out) == folder_files(tn_results)
    assert "3 videos found; TrackingNet's test split has 511" in err


def test_got10k_without_dataset_names_the_180(got_results: Path, capsys: pytest.CaptureFixture) -> None:
    code, lines, err = pack("--check", str(got_results), capsys=capsys)
    assert code == 1
    assert len(lines) == 177 and all(": missing: no GOT-10k_Test_" in line for line in lines)
    assert lines[0].startswith("GOT-10k_Test_000004: ")
    assert "no --dataset" in err


# -- damaged results: one line each, naming the sequence and the problem ------------------------------------------
SEQ = "GOT-10k_Test_000002"


def _rewrite(folder: Path, change: str) -> None:
    box_file = folder / SEQ / f"{SEQ}_001.txt"
    lines = box_file.read_text().splitlines()
    if change == "missing":
        shutil.rmtree(folder / SEQ)
    elif change == "short":
        box_file.write_text("\n".join(lines[:-1]) + "\n")
    elif change == "spaces":
        box_file.write_text("\n".join(line.replace(",", " ") for line in lines) + "\n")
    elif change == "tabs":
        box_file.write_text("\n".join(line.replace(",", "\t") for line in lines) + "\n")
    elif change == "nan":
        box_file.write_text("\n".join(lines[:2] + ["nan,nan,nan,nan"] + lines[3:]) + "\n")
    elif change == "negative":
        box_file.write_text("\n".join(lines[:3] + ["5.000,6.000,-3.000,4.000"] + lines[4:]) + "\n")
    elif change == "first":
        box_file.write_text("\n".join(["6.500,7.250,12.000,14.000"] + lines[1:]) + "\n")
    elif change == "no_time":
        (folder / SEQ / f"{SEQ}_time.txt").unlink()
    elif change == "deep":
        shutil.move(folder / SEQ, folder / "extra" / SEQ)


DAMAGES = {  # change -> what the one line says
    "missing": f"{SEQ}: missing: no {SEQ}/{SEQ}_001.txt",
    "short": "5 boxes for 6 frames",
    "spaces": "is space-separated; the server reads comma-separated",
    "tabs": "is tab-separated",
    "nan": "line 3: 'nan,nan,nan,nan' holds NaN",
    "negative": "line 4: '5.000,6.000,-3.000,4.000' has a width or height that is not positive",
    "first": "line 1: 6.5,7.25,12,14 is not the given first box 5.5,6.25,12,14",
    "no_time": f"missing {SEQ}/{SEQ}_time.txt",
    "deep": f"its results are at extra/{SEQ}/, where the server does not look",
}


@pytest.mark.parametrize("change", list(DAMAGES))
def test_got10k_damage_is_one_line(change: str, got_root: Path, got_results: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture) -> None:
    _rewrite(got_results, change)
    out = tmp_path / "sub.zip"
    code, lines, err = pack("got10k", str(got_results), "--dataset", str(got_root), "--out", str(out),
                            capsys=capsys)
    assert code == 1 and not out.exists()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{SEQ}: ") and DAMAGES[change] in lines[0], lines[0]
    assert "1 problem in" in err and "no zip written" in err


def test_got10k_zip_one_folder_too_deep(got_root: Path, toolkit_run: tuple[Path, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    """The tracker folder zipped instead of its content (got10k toolkit issue #3): one line for the zip."""
    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(wrong, "w") as z:
        for name, data in zip_files(toolkit_run[1]).items():
            z.writestr(f"{Still.name}/{name}", data)
    code, lines, err = pack("--check", str(wrong), "--dataset", str(got_root), capsys=capsys)
    assert code == 1
    assert lines == [f"the zip: the results are one folder too deep, under '{Still.name}/': the server wants the "
                     f"sequence folders at the zip's top level, no {Still.name}/ around them; zip the content of "
                     f"{Still.name}/, not the folder"]


def test_got10k_folder_one_folder_too_deep(got_root: Path, got_results: Path, capsys: pytest.CaptureFixture) -> None:
    nested = got_results / "extra"
    nested.mkdir()
    for name in GOT_FRAMES:
        shutil.move(got_results / name, nested / name)
    code, lines, _ = pack("--check", str(got_results), "--dataset", str(got_root), capsys=capsys)
    assert code == 1 and len(lines) == 1
    assert "one folder too deep, under 'extra/'" in lines[0] and f"give {nested} as RESULTS" in lines[0]


def test_several_problems_one_line_each(got_root: Path, got_results: Path, capsys: pytest.CaptureFixture) -> None:
    (got_results / "GOT-10k_Test_000001" / "GOT-10k_Test_000001_001.txt").write_text("1 2 3 4\n")
    shutil.rmtree(got_results / "GOT-10k_Test_000003")
    (got_results / SEQ / f"{SEQ}_time.txt").write_text("0.1\n" * 5)
    code, lines, _ = pack("--check", str(got_results), "--dataset", str(got_root), capsys=capsys)
    assert code == 1
    assert [line.split(":")[0] for line in lines] == list(GOT_FRAMES)
    assert "space-separated" in lines[0] and "5 lines for 6 frames" in lines[1] and "missing" in lines[2]


@pytest.mark.parametrize("change", ["missing", "spaces", "first", "deep"])
def test_trackingnet_damage_is_one_line(change: str, tn_root: Path, tn_results: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    name = "a0Zb_Xr3nCw_0"
    path = tn_results / f"{name}.txt"
    if change == "missing":
        path.unlink()
    elif change == "spaces":
        path.write_text(path.read_text().replace(",", " "))
    elif change == "first":
        lines = path.read_text().splitlines()
        path.write_text("\n".join(["13.00,15.50,30.25,20.75"] + lines[1:]) + "\n")  # 1-based
    else:
        (tn_results / "sub").mkdir()
        shutil.move(path, tn_results / "sub" / path.name)
    code, lines, _ = pack("trackingnet", "--check", str(tn_results), "--dataset", str(tn_root), capsys=capsys)
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"{name}: "), lines
    assert {"missing": "missing: no", "spaces": "space-separated", "first": "1-based boxes?",
            "deep": "sub/a0Zb_Xr3nCw_0.txt, where the server does not look"}[change] in lines[0]


def test_trackingnet_zip_with_a_folder(tn_root: Path, tn_results: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(wrong, "w") as z:
        for name, data in folder_files(tn_results).items():
            z.writestr(f"tn-results/{name}", data)
    code, lines, _ = pack("--check", str(wrong), "--dataset", str(tn_root), capsys=capsys)
    assert code == 1 and len(lines) == 1
    assert "under 'tn-results/'" in lines[0] and "the <video>.txt files at the zip's top level" in lines[0]


# -- GOT-10k's protocol: trained on GOT-10k train only ------------------------------------------------------------
def _curation(root: Path, source: str, snippets: list[str]) -> dict:
    root.mkdir(parents=True)
    identity = f"id-{root.name}"
    (root / SETTINGS_FILE).write_text(json.dumps({**CurationSettings(source=source).to_json(),
                                                  "identity": identity}))
    (root / PLAN_FILE).write_text(json.dumps(snippets))
    return {"root": str(root), "weight": 1.0, "max_gap": None, "identity": identity}


@pytest.mark.parametrize("trained_on", ["got10k-train", "vid", "got10k-val", "unrecorded"])
def test_got10k_training_data(trained_on: str, got_root: Path, got_results: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    run.mkdir()
    weights = run / "weights.pt"
    weights.write_bytes(b"not read")
    if trained_on == "unrecorded":
        data = None
    elif trained_on == "got10k-val":
        data = [_curation(tmp_path / "g", "got10k", ["train/GOT-10k_Train_000001", "val/GOT-10k_Val_000001"])]
    else:
        data = [_curation(tmp_path / "g", "got10k", ["train/GOT-10k_Train_000001"])]
        if trained_on == "vid":
            data.append(_curation(tmp_path / "v", "vid", ["train/ILSVRC2015_VID_train_0000/a"]))
    if data is not None:
        (run / "config.json").write_text(json.dumps({"data": data, "epochs": 1}))
    eval_out = got_results.parents[2]  # siamfc eval's report names the weights
    (eval_out / f"{Still.name}.json").write_text(json.dumps({"name": Still.name, "weights": str(weights)}))
    code, lines, err = pack("--check", str(eval_out), "--dataset", str(got_root), capsys=capsys)
    assert code == 0, (lines, err)
    if trained_on == "got10k-train":
        assert "trained on GOT-10k's train split only" in lines[0] and "warning" not in err
    elif trained_on == "unrecorded":
        assert f"warning: cannot check what {weights} was trained on" in err
    else:
        warning = [line for line in err.splitlines() if "warning:" in line and "not GOT-10k's train split" in line]
        assert len(warning) == 1, err
        assert ("ImageNet VID" if trained_on == "vid" else "GOT-10k val") in warning[0]
    code, _, err = pack("--check", str(got_results), "--dataset", str(got_root), "--weights", str(weights),
                        capsys=capsys)
    assert code == 0 and (("not GOT-10k's train split" in err) == (trained_on in ("vid", "got10k-val")))


def test_without_weights_says_it_cannot_be_checked(got_root: Path, toolkit_run: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture) -> None:
    code, _, err = pack("--check", str(toolkit_run[1]), "--dataset", str(got_root), capsys=capsys)
    assert code == 0 and "cannot check what the results' weights were trained on" in err


def test_dataset_sequence_lists(got_root: Path, tn_root: Path) -> None:
    """The source modules' test lists: names, first-box files and frame counts from the frame files."""
    got = submission.test_sequences("got10k", got_root)
    assert [(s.name, s.frames) for s in got] == list(GOT_FRAMES.items())
    assert got[0].first_box_file == got_root / "test" / "GOT-10k_Test_000001" / "groundtruth.txt"
    assert submission.test_sequences("got10k", got_root / "test") == got
    tn = submission.test_sequences("trackingnet", tn_root)
    assert [(s.name, s.frames) for s in tn] == sorted(TN_FRAMES.items())
    assert submission.test_sequences("trackingnet", tn_root / "TEST") == tn


def test_pack_imports_no_torch(got_root: Path, got_results: Path) -> None:
    """``siamfc pack`` (its help, and a whole check with the protocol read) starts without torch or matplotlib."""
    probe = ("import runpy, sys\n"
             "sys.argv = sys.argv[1:]\n"
             "try:\n    runpy.run_module('siamfc.tools.cli', run_name='__main__')\n"
             "except SystemExit as e:\n    status = e.code\n"
             "print('LOADED', status, *[m for m in ('torch', 'matplotlib') if m in sys.modules])")
    for args in (["--help"], ["--check", str(got_results), "--dataset", str(got_root), "--weights", __file__]):
        done = subprocess.run([sys.executable, "-c", probe, "siamfc", "pack", *args], capture_output=True, text=True,
                              timeout=120)
        assert done.stdout.splitlines()[-1] == "LOADED 0", (done.stdout, done.stderr)
