"""`siamfc curate --workers 2` as real processes: killed with ``kill -9`` or SIGTERM mid-run it leaves no
process behind, SIGTERM unwinds like Ctrl-C and a rerun resumes; OS errors are one line naming the path."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from siamfc.curate.manifest import Manifest, load_manifest
from siamfc.curate.synth import SynthConfig, generate
from siamfc.tools.cli import describe_os_error

from cli_runner import run_cli
from source_checks import curate_quietly

# Enough work that two workers are far from done when the first snippet is committed (a few seconds).
SYNTH = SynthConfig(train_snippets=22, val_snippets=2, frames=30, seed=5)
COMMITTED_BYTES = 64 << 10  # a shard's data.mdb is 12 KiB when opened; one committed snippet's crops add far more
INTERRUPTED = "siamfc curate: interrupted; committed work is kept, rerun to resume"
GONE_WITHIN = 10.0  # seconds allowed for every descendant to exit once the parent is dead

Proc = tuple[int, int]  # (pid, start time in clock ticks): a process, even if its pid is reused


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, Manifest]:
    """(VID root, manifest of its uninterrupted curation with the command's default settings)."""
    root = tmp_path_factory.mktemp("proc-vid") / "ILSVRC2015"
    generate(root, SYNTH)
    reference = tmp_path_factory.mktemp("proc-ref") / "cur"
    curate_quietly(root, reference)
    return root, load_manifest(reference)


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _descendants(pid: int) -> set[Proc]:
    """Every live descendant of ``pid``, from the parent pids in /proc."""
    children: dict[int, list[Proc]] = {}
    for entry in os.listdir("/proc"):
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields is not None:
            children.setdefault(int(fields[1]), []).append((int(entry), int(fields[19])))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def _alive(proc: Proc) -> bool:
    fields = _stat(proc[0])
    return fields is not None and fields[0] != "Z" and int(fields[19]) == proc[1]  # a zombie has exited


def _cmdline(proc: Proc) -> str:
    try:
        return Path(f"/proc/{proc[0]}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def _start(source: Path, out: Path, log: Path) -> subprocess.Popen:
    # Output goes to files, not pipes: a leftover worker would hold a pipe open and hang the reading test.
    cmd = [sys.executable, "-m", "siamfc.tools.cli", "curate", str(source), str(out), "--workers", "2", "--no-progress"]
    return subprocess.Popen(cmd, stdout=(log / "stdout").open("w"), stderr=(log / "stderr").open("w"),
                            start_new_session=True)


def _wait_until_working(proc: subprocess.Popen, out: Path, log: Path, timeout: float = 60.0) -> set[Proc]:
    """Wait until two loky workers run and a snippet is committed; every descendant seen meanwhile."""
    seen: set[Proc] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"finished before it could be interrupted: {(log / 'stderr').read_text()}"
        seen |= _descendants(proc.pid)
        workers = [p for p in seen if _alive(p) and "loky" in _cmdline(p) and "resource_tracker" not in _cmdline(p)]
        committed = any(f.stat().st_size > COMMITTED_BYTES for f in out.glob("shard-*/data.mdb"))
        if len(workers) >= 2 and committed:
            time.sleep(0.25)  # the file grows before the commit's header write: let that commit finish
            return seen | _descendants(proc.pid)
        time.sleep(0.02)
    raise AssertionError(f"no worker or no commit after {timeout} s: {(log / 'stderr').read_text()}")


def _assert_all_gone(procs: set[Proc]) -> float:
    """Wait up to GONE_WITHIN seconds for every process of ``procs`` to exit (kill the rest); the time taken."""
    start = time.monotonic()
    while time.monotonic() - start < GONE_WITHIN and any(_alive(p) for p in procs):
        time.sleep(0.05)
    left = {p: _cmdline(p) for p in procs if _alive(p)}
    for pid, _ in left:
        os.kill(pid, signal.SIGKILL)  # processes this test started: do not leave them to the next test
    assert not left, f"still alive {GONE_WITHIN} s after the parent: {left}"
    return time.monotonic() - start


def _keys(manifest: Manifest) -> set[bytes]:
    return {manifest.key(i) for i in range(len(manifest))}


@pytest.mark.slow
def test_kill_9_leaves_no_process_behind(tree, tmp_path):
    source, reference = tree
    out = tmp_path / "cur"
    proc = _start(source, out, tmp_path)
    procs: set[Proc] = set()
    try:
        procs = _wait_until_working(proc, out, tmp_path)
        proc.kill()
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        _assert_all_gone(procs)
    partial = load_manifest(out)  # what was committed before the kill is intact
    assert 0 < len(partial.snippets) < len(reference.snippets)
    assert _keys(partial) <= _keys(reference)


@pytest.mark.slow
def test_sigterm_is_an_interrupt_and_a_rerun_resumes(tree, tmp_path):
    source, reference = tree
    out = tmp_path / "cur"
    proc = _start(source, out, tmp_path)
    procs: set[Proc] = set()
    try:
        procs = _wait_until_working(proc, out, tmp_path)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
        _assert_all_gone(procs)
    stderr = (tmp_path / "stderr").read_text()
    assert stderr.strip().splitlines() == [INTERRUPTED], stderr
    done = len(load_manifest(out).snippets)
    assert 0 < done < len(reference.snippets)

    rerun = run_cli("curate", source, out, "--workers", "2", "--no-progress", fresh=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{done} already done" in rerun.stdout
    resumed = load_manifest(out)
    assert resumed.complete
    assert list(resumed.snippets) == list(reference.snippets)
    assert np.array_equal(resumed.records, reference.records)
    assert _keys(resumed) == _keys(reference)


def test_an_output_path_under_a_file_is_one_line_naming_it(synth_vid, tmp_path):
    source, _ = synth_vid
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for args, path in ((["curate", str(source), str(blocker / "cur"), "--no-progress"], blocker / "cur"),
                       (["synth", str(blocker / "vid"), "--train-snippets", "1", "--val-snippets", "0"], blocker)):
        proc = run_cli(*args)
        lines = [line for line in proc.stderr.splitlines() if "siamfc" in line]
        assert proc.returncode == 2, proc.stderr
        assert len(lines) == 1 and lines[0].startswith(f"siamfc {args[0]}: error: ") and str(path) in lines[0], \
            proc.stderr
        assert "Traceback" not in proc.stderr


def test_os_errors_are_described_by_their_path():
    assert describe_os_error(NotADirectoryError(errno.ENOTDIR, "Not a directory", "/a/b")) == \
        "/a/b: Not a directory"
    assert describe_os_error(OSError(errno.EXDEV, "Invalid cross-device link", "/a", None, "/b")) == \
        "/a -> /b: Invalid cross-device link"
    assert describe_os_error(OSError(errno.ENOSPC, "No space left on device")) == "[Errno 28] No space left on device"
    assert describe_os_error(FileExistsError("/x already exists; pick another")) == "/x already exists; pick another"
