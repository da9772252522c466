"""Every option and path of `siamfc train`, `track`, `eval` and `demo` is checked: a bad value ends with one line on
stderr naming the option or path, exit status 2 and no traceback; a malformed ground truth is skipped and reported.

The commands run in-process through ``main`` (an uncaught exception would fail the test with its traceback) and,
for one case each, as a real process. Files are made here: frames, weights, checkpoints, ground truths.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest
import torch

from siamfc.model.checkpoint import atomic_save, load_checkpoint, load_weights, rng_state
from siamfc.model.eval_sequences import find_sequences
from siamfc.model.inference import TorchEngine
from siamfc.model.net import SiamFCNet
from siamfc.model.tracker import BoxOutsideFrameWarning, SiamFCTracker, TrackerConfig
from siamfc.model.train_config import TrainConfig
from siamfc.model.train_log import plot_losses
from siamfc.pipeline.sampler_config import SamplerConfig

from cli_runner import run_cli

W, H = 64, 48


def fails(*argv: str) -> str:
    """Run ``siamfc argv``; assert exit status 2 and one stderr line with no traceback; return that line."""
    proc = run_cli(*argv)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    line = err.strip()
    assert line.startswith(f"siamfc {argv[0]}: error: "), line
    return line


def write_frames(folder: Path, n: int, sizes: dict[int, tuple[int, int]] | None = None) -> list[Path]:
    """``n`` random JPEG frames of W x H (``sizes`` overrides the size of some frames)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    paths = []
    for i in range(n):
        w, h = (sizes or {}).get(i, (W, H))
        paths.append(folder / f"{i:04d}.jpg")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    return paths


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder in which no file can be created: read-only by its mode, or (as root, whom modes do not stop)
    /sys, read-only to root too in containers."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys")):
        try:
            (candidate / "probe").touch()
        except OSError:
            return candidate
        (candidate / "probe").unlink()
    pytest.skip("no folder here refuses to be written")


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("frames")
    write_frames(folder, 3)
    return folder


# -- atomic writes -------------------------------------------------------------------------------------------------
def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path):
    path = atomic_save({"a": torch.ones(2)}, tmp_path / "w.pt")
    with pytest.raises(Exception, match="pickle|lambda"):
        atomic_save({"a": lambda: 0}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))
    assert os.listdir(tmp_path) == ["w.pt"]  # no temporary file left


def test_loss_plot_leaves_the_pyplot_backend_alone(tmp_path):
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        plot_losses({"epochs": [{"epoch": 0, "val_loss": 0.7, "val_centre_error": 9.0},
                                {"epoch": 1, "train_loss": 0.6, "val_loss": 0.5, "val_centre_error": 5.0}],
                     "steps": [[0.5, 0.65], [1.0, 0.6]]}, tmp_path / "loss.png")
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    png = cv2.imread(str(tmp_path / "loss.png"))
    assert png is not None and png.shape[1] > 400
    assert os.listdir(tmp_path) == ["loss.png"]


# -- train ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("option", "value", "says"), [
    ("--epochs", "0", "--epochs must be an integer of at least 1, got 0"),
    ("--batch-size", "0", "--batch-size must be an integer of at least 1, got 0"),
    ("--lr", "0", "--lr must be a finite number above 0, got 0.0"),
    ("--lr", "nan", "--lr must be a finite number above 0, got nan"),
    ("--lr-final", "inf", "--lr-final must be a finite number above 0, got inf"),
    ("--lr-final", "-1e-5", "--lr-final must be a finite number above 0"),
    ("--momentum", "1", "--momentum must be in [0, 1), got 1.0"),
    ("--weight-decay", "-1", "--weight-decay must be a finite number, 0 or more"),
    ("--val-pairs", "-1", "--val-pairs must be an integer, 0 or more"),
    ("--val-max-translate", "65", "--val-max-translate must be an integer in [0, 64]"),
    ("--val-upsample", "0", "--val-upsample must be an integer of at least 1"),
    ("--seed", "-1", "--seed must be non-negative, got -1"),  # SamplerConfig's
    ("--seed", str(2**32), "--seed must be an integer in [0, 2**32), got 4294967296"),  # numpy's seed range
    ("--device", "tpu", "--device must be one of auto, cpu, cuda, got 'tpu'"),
    ("--workers", "-1", "--workers must be an integer, 0 or more, got -1"),
    ("--augment-on", "gpu", "--augment-on must be one of auto, workers, device, got 'gpu'"),
    ("--log-every", "0", "--log-every must be an integer of at least 1"),
    ("--keep-every", "-2", "--keep-every must be an integer, 0 or more"),
    ("--max-gap", "0", "--max-gap must be at least 1, got 0"),  # SamplerConfig's own check
    ("--min-size", "inf", "--min-size must be a finite number, got inf"),
    ("--flip", "nan", "--flip must be a probability, got nan"),
    ("--stop-after", "0", "--stop-after must be at least 1, got 0"),
])
def test_train_numeric_options(tmp_path, option, value, says):
    line = fails("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "run", f"{option}={value}")
    assert says in line and "nowhere" not in line, line  # refused before the data is looked at
    assert not (tmp_path / "run").exists()


def test_train_config_checks_every_field_itself():
    with pytest.raises(ValueError, match=r"TrainConfig\.epochs must be an integer of at least 1, got 0"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match=r"SamplerConfig\.radius must be a finite number, got inf"):
        TrainConfig(sampler=SamplerConfig(radius=float("inf")))
    with pytest.raises(ValueError, match=r"TrainConfig\.train_splits"):
        TrainConfig(train_splits=())
    assert TrainConfig().epochs == 50  # the defaults pass


def test_train_data_that_is_not_a_curation(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("not shards")
    line = fails("train", "--data", tmp_path / "junk", "--out", tmp_path / "run", "--no-progress")
    assert str(tmp_path / "junk") in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("content", [b"", b"{\"epochs\": 0}", b"[1, 2]", b"\xff\xfe not json"])
def test_train_resume_with_a_bad_config_json(tmp_path, content):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_bytes(content)
    line = fails("train", "--out", tmp_path / "run", "--resume")
    assert f"{tmp_path / 'run' / 'config.json'}: not a usable run configuration" in line


def run_folder(path: Path, data: Path, checkpoint: bytes | dict | None) -> Path:
    """A run folder as `siamfc train` leaves it, with ``checkpoint.pt`` holding ``checkpoint``."""
    path.mkdir()
    config = TrainConfig(epochs=2, batch_size=2, val_pairs=0, sampler=SamplerConfig(pairs_per_epoch=4))
    (path / "config.json").write_text(json.dumps({"data": str(data), "val_data": str(data), **config.to_json()}))
    if isinstance(checkpoint, bytes):
        (path / "checkpoint.pt").write_bytes(checkpoint)
    elif checkpoint is not None:
        torch.save({**checkpoint, "config": config.to_json(), "rng": rng_state()}, path / "checkpoint.pt")
    return path


@pytest.mark.parametrize(("checkpoint", "says"), [
    (b"", "empty file (0 bytes)"),
    (b"PK\x03\x04 torn zip" * 20, "unreadable, not a torch file"),
    ({"model": {}, "optimizer": {}, "scheduler": {}, "epoch": 1, "history": {"epochs": [], "steps": []}},
     "cannot restore the run from this checkpoint"),
    ({"model": {}, "optimizer": {}, "scheduler": {}, "epoch": 1}, "the checkpoint lacks history"),
    ({"model": {}, "optimizer": {}, "epoch": 1}, "not a siamfc training checkpoint"),
])
def test_train_resume_from_a_broken_checkpoint(tmp_path, curated_jpeg, checkpoint, says):
    run = run_folder(tmp_path / "run", curated_jpeg, checkpoint)
    line = fails("train", "--out", run, "--resume", "--no-progress")
    assert f"{run / 'checkpoint.pt'}: " in line and says in line, line


def test_train_out_that_is_a_file_or_unwritable(tmp_path, curated_jpeg):
    options = ["--epochs", "1", "--batch-size", "2", "--pairs-per-epoch", "2", "--val-pairs", "0", "--no-progress"]
    (tmp_path / "file").write_text("x")
    line = fails("train", "--data", curated_jpeg, "--out", tmp_path / "file", *options)
    assert f"{tmp_path / 'file'}: the run folder exists and is a file" in line
    line = fails("train", "--data", curated_jpeg, "--out", tmp_path / "file" / "run", *options)
    assert f"{tmp_path / 'file' / 'run'}: the run folder cannot be created" in line
    locked = unwritable_folder(tmp_path)
    line = fails("train", "--data", curated_jpeg, "--out", locked / "run", *options)
    assert f"{locked / 'run'}: the run folder cannot be created" in line
    if locked != Path("/sys"):  # an existing folder that cannot be written
        line = fails("train", "--data", curated_jpeg, "--out", locked, *options)
        assert f"{locked}: the run folder is not writable" in line


# -- track ---------------------------------------------------------------------------------------------------------
def track(frames: Path, weights: Path, out: Path, *options: str) -> list[str]:
    return ["track", "--frames", str(frames), "--weights", str(weights), "--init", "10,10,20,16", "--out", str(out),
            "--device", "cpu", *options]


@pytest.mark.parametrize(("content", "says"), [
    (None, "no such file"),
    (b"", "empty file (0 bytes)"),
    (b"\x80\x02 not a pickle", "unreadable, not a torch file"),
    ("dir", "not a file"),
    ("nan", "holds NaN or infinite values"),
])
def test_track_weights_missing_empty_or_corrupt(tmp_path, frames, content, says):
    path = tmp_path / "w.pt"
    if content == "dir":
        path.mkdir()
    elif content == "nan":
        state = SiamFCNet().state_dict()
        state["backbone.conv2.0.weight"][0, 0, 0, 0] = float("nan")
        torch.save(state, path)
    elif content is not None:
        path.write_bytes(content)
    line = fails(*track(frames, path, tmp_path / "boxes.txt"))
    assert f"{path}: " in line and says in line, line
    assert not (tmp_path / "boxes.txt").exists()


@pytest.mark.parametrize("init", ["nan,10,20,16", "10,10,inf,16", "10,10,-20,16", "10,10,20,0", "1,2,3", "a,b,c,d"])
def test_track_init_box(tmp_path, frames, weights, init):
    argv = track(frames, weights, tmp_path / "boxes.txt")
    argv[argv.index("--init") + 1] = init
    line = fails(*argv)
    assert f"--init {init!r}" in line


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--scales", "4", "--scales must be a positive odd number, got 4"),
    ("--scales", "-1", "--scales must be a positive odd number"),
    ("--scale-step", "1", "--scale-step must be a finite number above 1, got 1.0"),
    ("--scale-step", "nan", "--scale-step must be a finite number above 1, got nan"),
    ("--scale-penalty", "0", "--scale-penalty must be in (0, 1], got 0.0"),
    ("--scale-penalty", "1.5", "--scale-penalty must be in (0, 1]"),
    ("--scale-lr", "-0.1", "--scale-lr must be in [0, 1]"),
    ("--window-influence", "2", "--window-influence must be in [0, 1], got 2.0"),
    ("--window-influence", "inf", "--window-influence must be in [0, 1], got inf"),
    ("--response-up", "0", "--response-up must be an integer of at least 1"),
    ("--context", "0", "--context must be a finite number above 0"),
    ("--context", "inf", "--context must be a finite number above 0"),
    ("--fps", "0", "--fps must be a finite number above 0, got 0.0"),
    ("--fps", "nan", "--fps must be a finite number above 0, got nan"),
])
def test_track_tracker_options(tmp_path, frames, weights, option, value, says):
    line = fails(*track(frames, weights, tmp_path / "boxes.txt", option, value))
    assert says in line, line


def test_tracker_config_checks_every_field_itself():
    for field, value in (("scales", 2), ("scale_step", 0.9), ("scale_penalty", float("nan")), ("min_scale", 0.0),
                         ("max_scale", 0.5), ("response_up", 1.5), ("context", -0.5)):
        with pytest.raises(ValueError, match=rf"TrackerConfig\.{field} must be"):
            TrackerConfig(**{field: value})
    with pytest.raises(ValueError, match="device 'tpu'"):
        TorchEngine(SiamFCNet(), device="tpu")


def test_track_device_that_does_not_exist(tmp_path, frames, weights):
    argv = track(frames, weights, tmp_path / "boxes.txt")
    argv[argv.index("--device") + 1] = "gpu0"
    assert "device 'gpu0': not a torch device" in fails(*argv)


def test_track_frames_of_different_sizes_are_refused(tmp_path, weights):
    paths = write_frames(tmp_path / "frames", 5, sizes={3: (W + 8, H), 4: (W, H + 2)})
    line = fails(*track(tmp_path / "frames", weights, tmp_path / "boxes.txt"))
    assert f"{paths[3]}: frame of {W + 8}x{H} pixels, but the first frame 0000.jpg is {W}x{H}" in line
    assert not (tmp_path / "boxes.txt").exists()


def test_track_frame_that_is_not_an_image(tmp_path, weights):
    write_frames(tmp_path / "frames", 3)
    (tmp_path / "frames" / "0001.jpg").write_bytes(b"\xff\xd8 torn")
    line = fails(*track(tmp_path / "frames", weights, tmp_path / "boxes.txt"))
    assert f"{tmp_path / 'frames' / '0001.jpg'}: not a readable image" in line


def test_track_outputs_that_cannot_be_written(tmp_path, frames, weights):
    (tmp_path / "file").write_text("x")
    line = fails(*track(frames, weights, tmp_path / "file" / "boxes.txt"))
    assert f"{tmp_path / 'file'}: the folder of --out boxes.txt exists and is a file" in line
    line = fails(*track(frames, weights, tmp_path))
    assert f"{tmp_path}: --out is a folder" in line
    line = fails(*track(frames, weights, tmp_path / "boxes.txt", "--video", tmp_path / "file" / "v.mp4"))
    assert f"{tmp_path / 'file'}: the folder of --video v.mp4 exists and is a file" in line
    line = fails(*track(frames, weights, tmp_path / "boxes.txt", "--video", tmp_path / "file"))
    assert f"{tmp_path / 'file'}: the --video folder exists and is a file" in line
    locked = unwritable_folder(tmp_path)
    line = fails(*track(frames, weights, locked / "boxes.txt"))
    assert f"{locked}: the folder of --out boxes.txt is not writable" in line
    assert not (tmp_path / "boxes.txt").exists()


@pytest.mark.parametrize(("init", "says"), [("100,100,20,16", "lies entirely outside the 64x48 frame"),
                                            ("-25,30,20,16", "lies entirely outside"),
                                            ("50,40,30,20", "has its centre outside the 64x48 frame")])
def test_track_warns_once_when_the_initial_box_is_outside_the_frame(tmp_path, frames, weights, init, says):
    argv = track(frames, weights, tmp_path / "boxes.txt")
    argv[argv.index("--init"):argv.index("--init") + 2] = [f"--init={init}"]  # "=": the value may start with "-"
    proc = run_cli(*argv)
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.strip()
    assert err.startswith("siamfc track: warning: initial box") and says in err and len(err.splitlines()) == 1, err
    assert np.loadtxt(tmp_path / "boxes.txt", delimiter=",").shape == (3, 4)


def test_tracker_init_warns_only_for_boxes_outside():
    tracker = SiamFCTracker(TorchEngine(SiamFCNet(), "cpu"))
    image = np.zeros((H, W, 3), np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.init(image, [W - 5, H - 5, 8, 8])  # centre (W - 1.5, H - 1.5): inside
    with pytest.warns(BoxOutsideFrameWarning, match="has its centre outside"):
        tracker.init(image, [W - 3, 0, 8, 8])  # centre x = W + 0.5
    with pytest.raises(ValueError, match="expected finite x, y, w, h"):
        tracker.init(image, [np.nan, 0, 8, 8])


@pytest.mark.slow
def test_track_failure_as_a_real_process(tmp_path, frames):
    (tmp_path / "w.pt").write_bytes(b"")
    done = run_cli(*track(frames, tmp_path / "w.pt", tmp_path / "boxes.txt"), fresh=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"siamfc track: error: {tmp_path / 'w.pt'}: empty file (0 bytes), not a torch file"


# -- eval ----------------------------------------------------------------------------------------------------------
def numbered(paths: list[Path], digits: int) -> None:
    """Rename frames 0000.jpg ... to the benchmark's numbers, from 1 (``digits`` wide)."""
    for path in reversed(paths):
        path.rename(path.with_name(f"{int(path.stem) + 1:0{digits}d}.jpg"))


def otb(root: Path, name: str, gt: str, frames: int = 3) -> Path:
    numbered(write_frames(root / name / "img", frames), 4)
    (root / name / "groundtruth_rect.txt").write_text(gt)
    return root / name / "groundtruth_rect.txt"


def got(root: Path, name: str, gt: str, frames: int = 3, absence: str | None = None) -> Path:
    """A GOT-10k val sequence (every label file; ``absence`` replaces absence.label); returns the file at fault."""
    numbered(write_frames(root / name, frames), 8)
    (root / name / "groundtruth.txt").write_text(gt)
    for label, value in (("absence.label", 0), ("cover.label", 8), ("cut_by_image.label", 0)):
        (root / name / label).write_text(f"{value}\n" * frames)
    (root / name / "meta_info.ini").write_text("[METAINFO]\nobject_class: thing\n")
    if absence is not None:
        (root / name / "absence.label").write_text(absence)
    return root / name / ("absence.label" if absence is not None else "groundtruth.txt")


GOOD = "11,11,20,16\n12,11,20,16\n13,12,20,16\n"
MALFORMED = {  # OTB sequence -> (ground truth, what the reason says)
    "NotNumbers": ("11,11,20,16\n12,x,20,16\n13,12,20,16\n", ", line 2: '12,x,20,16' is not 4 finite"),
    "FiveColumns": ("11,11,20,16\n12,11,20,16,1\n13,12,20,16\n", ", line 2: '12,11,20,16,1' is not 4"),
    "HalfNaN": ("11,11,20,16\n12,nan,20,16\n13,12,20,16\n", ", line 2: '12,nan,20,16' is not 4 finite"),
    "Infinite": ("10,10,20,16\ninf,10,20,16\n12,11,20,16\n", ", line 2: 'inf,10,20,16' is not 4 finite"),
    "NegativeSize": ("10,10,20,16\n11,10,-20,16\n12,11,20,16\n", ", line 2: box x,y,w,h '11,10,-20,16' has a width"),
    "EmptyOtb": ("", "every groundtruth_rect*.txt is empty; no target"),
    "FewerBoxes": ("10,10,20,16\n11,10,20,16\n", "the file has 2 lines but"),
    "BinaryGt": ("", "not a text file"),  # bytes written below
}
GOT_MALFORMED = {  # GOT-10k sequence -> (absence.label, what the reason says)
    "GOT-10k_Val_000002": ("0\n2\n0\n", "absence.label, line 2: '2' is not one of 0, 1"),
    "GOT-10k_Val_000003": ("0\n0\n", "absence.label: 2 lines for 3 frames"),
}


def malformed_dataset(root: Path) -> dict[str, Path]:
    """Two good OTB sequences (an unannotated frame in one) and every malformed kind; returns the files at fault."""
    otb(root, "GoodOtb", GOOD)
    otb(root, "GoodNaN", "10,10,20,16\nnan,nan,nan,nan\n12,11,20,16\n")
    files = {name: otb(root, name, gt) for name, (gt, _) in MALFORMED.items()}
    files["BinaryGt"].write_bytes(b"\xff\xfe\x00garbage")
    files["EmptyOtb"] = files["EmptyOtb"].parent  # an empty box file is no target: the folder is passed over
    return files


@pytest.mark.slow
def test_eval_skips_malformed_ground_truth_and_evaluates_the_rest(tmp_path, weights):
    files = malformed_dataset(tmp_path / "data")
    sequences, skipped = find_sequences(tmp_path / "data")
    assert sorted(s.name for s in sequences) == ["GoodNaN", "GoodOtb"]
    assert {s.name: s.file for s in skipped} == {name: str(path) for name, path in files.items()}

    out = tmp_path / "eval"
    proc = run_cli("eval", "--dataset", tmp_path / "data", "--weights", weights, "--out", out, "--device", "cpu",
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout
    report = json.loads((out / "SiamFC.json").read_text())
    assert report["sequences"] == 2 and report["frames"] == 6
    assert sorted(report["per_sequence"]) == ["GoodNaN", "GoodOtb"]
    assert f"{len(MALFORMED)} sequences skipped:" in printed
    by_name = {s["name"]: s for s in report["skipped"]}
    assert sorted(by_name) == sorted(MALFORMED)
    for name, (_, says) in MALFORMED.items():
        entry = by_name[name]
        assert entry["file"] == str(files[name]) and says in entry["reason"], entry
        assert f"    {name}: {entry['reason']}" in printed  # the printed report: file and reason


def test_got10k_label_problems_skip_the_sequence_naming_the_file(tmp_path):
    got(tmp_path / "val", "GOT-10k_Val_000001", "10,10,20,16\nnan,nan,nan,nan\n12,11,20,16\n", absence="0\n1\n0\n")
    files = {name: got(tmp_path / "val", name, "10,10,20,16\n11,10,20,16\n12,11,20,16\n", absence=absence)
             for name, (absence, _) in GOT_MALFORMED.items()}
    sequences, skipped = find_sequences(tmp_path / "val")
    assert [s.name for s in sequences] == ["GOT-10k_Val_000001"] and np.isnan(sequences[0].gt[1]).all()
    assert {s.name: s.file for s in skipped} == {name: str(path) for name, path in files.items()}
    for s in skipped:
        assert GOT_MALFORMED[s.name][1] in s.reason and s.kind == "label_malformed", s


@pytest.mark.slow
def test_eval_skips_a_sequence_with_an_unreadable_frame(tmp_path, weights):
    otb(tmp_path / "data", "Good", GOOD)
    otb(tmp_path / "data", "Torn", GOOD)
    torn = tmp_path / "data" / "Torn" / "img" / "0001.jpg"
    torn.write_bytes(b"not a jpeg")
    proc = run_cli("eval", "--dataset", tmp_path / "data", "--weights", weights, "--out", tmp_path / "eval",
                   "--device", "cpu", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "eval" / "SiamFC.json").read_text())
    assert report["sequences"] == 1 and list(report["per_sequence"]) == ["Good"]
    assert report["skipped"] == [{"name": "Torn", "reason": f"{torn}: not a JPEG (starts with 6e 6f 74 20)",
                                  "file": str(torn), "kind": "frame_corrupt"}]


def test_eval_with_nothing_left_to_evaluate(tmp_path, weights):
    otb(tmp_path / "data", "Bad", "1,2,3\n" * 3)
    line = fails("eval", "--dataset", tmp_path / "data", "--weights", weights, "--out", tmp_path / "eval",
                 "--device", "cpu", "--no-progress")
    assert "no sequence to evaluate; all 1 skipped: 1 box_malformed (each listed above)" in line


@pytest.mark.parametrize(("options", "says"), [
    (["--max-sequences", "0"], "--max-sequences must be at least 1, got 0"),
    (["--name", "a/b"], "--name 'a/b': must be a plain file name"),
    (["--scales", "2"], "--scales must be a positive odd number, got 2"),
    (["--dataset", "/nonexistent/siamfc-data"], "/nonexistent/siamfc-data: no such folder"),  # the last one given
])
def test_eval_options(tmp_path, weights, options, says):
    otb(tmp_path / "data", "Good", GOOD)
    line = fails("eval", "--dataset", tmp_path / "data", "--weights", weights, "--out", tmp_path / "eval",
                 *options)
    assert says in line, line
    assert not (tmp_path / "eval").exists()


def test_eval_out_that_is_a_file(tmp_path, weights):
    otb(tmp_path / "data", "Good", GOOD)
    (tmp_path / "eval").write_text("x")
    line = fails("eval", "--dataset", tmp_path / "data", "--weights", weights, "--out", tmp_path / "eval")
    assert f"{tmp_path / 'eval'}: the report folder (--out) exists and is a file" in line


# -- demo ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("options", "says"), [
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--pairs", "-4"], "--pairs must be at least 1, got -4"),
    (["--dir", "FILE"], "the demo folder (--dir) exists and is a file"),
])
def test_demo_options(tmp_path, options, says):
    (tmp_path / "FILE").write_text("x")
    options = [str(tmp_path / "FILE") if o == "FILE" else o for o in options]
    line = fails("demo", *options)
    assert says in line, line
    assert os.listdir(tmp_path) == ["FILE"]


# -- checkpoints read back --------------------------------------------------------------------------------------------
def test_checkpoint_and_weights_loaders_name_the_file(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    for load in (load_checkpoint, load_weights):
        with pytest.raises(ValueError, match=rf"{tmp_path / 'empty.pt'}: empty file \(0 bytes\)"):
            load(tmp_path / "empty.pt")
        with pytest.raises(FileNotFoundError, match=rf"{tmp_path / 'none.pt'}: no such file"):
            load(tmp_path / "none.pt")
