"""A file given where a folder is expected is named as a file, never as a missing folder (curate/paths.py)."""

from __future__ import annotations

import os

import pytest

from siamfc.curate.errors import CurationError
from siamfc.curate.paths import check_folder
from siamfc.tools.cli import main


def error_line(capsys: pytest.CaptureFixture[str], *argv: object) -> str:
    """Run ``siamfc ARGV``: exit status 2, one error line, no traceback; return the line."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_check_folder(tmp_path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    assert check_folder(tmp_path) == tmp_path and check_folder(str(tmp_path)) == tmp_path
    cases = {a_file: f"{a_file}: is a file, not a folder",
             tmp_path / "missing": f"{tmp_path / 'missing'}: no such folder",
             a_file / "sub": f"{a_file / 'sub'}: no such folder ({a_file} is a file, not a folder)",
             tmp_path / "dangling": f"{tmp_path / 'dangling'}: no such folder (a link to {tmp_path / 'nowhere'}"}
    for path, says in cases.items():
        with pytest.raises(CurationError) as err:
            check_folder(path)
        assert str(err.value).startswith(says), str(err.value)


@pytest.mark.parametrize("command", [
    ["curate", "{file}", "{tmp}/out", "--no-progress"],
    ["curate", "{file}", "{tmp}/out", "--no-progress", "--format", "got10k"],  # no layout detection first
    ["stats", "{file}"],
    ["stats", "{tmp}", "{file}"],  # checked before any figures
    ["track", "--weights", "{file}", "--frames", "{file}", "--init", "1,1,5,5"],
])
def test_a_file_where_a_folder_is_expected(command, tmp_path, capsys) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    argv = [word.format(file=a_file, tmp=tmp_path) for word in command]
    line = error_line(capsys, *argv)
    assert line == f"siamfc {command[0]}: error: {a_file}: is a file, not a folder"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["curate", "{missing}", "{tmp}/out", "--no-progress"], ["stats", "{missing}"]])
def test_a_missing_folder_is_still_no_such_folder(command, tmp_path, capsys) -> None:
    argv = [word.format(missing=tmp_path / "missing", tmp=tmp_path) for word in command]
    assert error_line(capsys, *argv).endswith(f"{tmp_path / 'missing'}: no such folder")
