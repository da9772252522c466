"""The CLI tells the user's mistakes (one line, status 2) apart from the package's bugs (a traceback, status 1)."""

from __future__ import annotations

import pytest

from siamfc.curate.errors import USER_ERRORS, CurationError, UserError
from siamfc.curate.shards import ShardError
from siamfc.tools import run_stats
from siamfc.tools.cli import BUG, main

from cli_runner import run_cli


def test_user_errors_are_value_errors_and_curation_errors_are_not():
    assert issubclass(UserError, ValueError)  # pytest.raises(ValueError) and callers' except ValueError keep working
    assert not issubclass(CurationError, ValueError)  # a wrong layout is never swallowed by a parse's except
    assert all(issubclass(e, USER_ERRORS) for e in (UserError, CurationError, ShardError, FileNotFoundError))
    assert not issubclass(ValueError, USER_ERRORS) and not issubclass(ZeroDivisionError, USER_ERRORS)


def _bug(kind: type[Exception]):
    def broken(*args, **kwargs):
        raise kind("deliberate bug inside the package")
    return broken


@pytest.mark.parametrize("kind", [ZeroDivisionError, ValueError, KeyError, TypeError])
def test_a_bug_inside_a_command_prints_its_traceback_and_says_it_is_a_bug(capsys, tmp_path, monkeypatch, kind):
    monkeypatch.setattr(run_stats, "curation_stats", _bug(kind))  # a package function the command calls
    status = main(["stats", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback (most recent call last)" in err and "in broken" in err  # where it happened
    last = err.strip().splitlines()[-1]
    assert last.startswith("siamfc stats: " + BUG) and kind.__name__ in last
    assert "report it" in BUG


@pytest.mark.parametrize("argv, says", [
    (["synth", "OUT", "--frames", "0"], "--frames must be at least 1, got 0"),
    (["stats", "{tmp}/missing"], "missing"),
    (["eval", "--workers", "0"], "--workers must be at least 1, got 0"),
    (["pack", "a", "b", "c"], "expected [got10k|trackingnet] RESULTS"),
])
def test_a_users_mistake_is_one_line_without_traceback(capsys, tmp_path, argv, says):
    argv = [a.replace("OUT", str(tmp_path / "out")).replace("{tmp}", str(tmp_path)) for a in argv]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err and BUG not in err
    assert err.count("\n") == 1 and err.startswith(f"siamfc {argv[0]}: error: ") and says in err, err


@pytest.mark.parametrize("error", [UserError("bad --option"), CurationError("not a layout"),
                                   ShardError("shard-000.lmdb", "truncated"), PermissionError(13, "denied", "/x")])
def test_each_user_error_type_is_one_line(capsys, tmp_path, monkeypatch, error):
    def refuse(*args, **kwargs):
        raise error
    monkeypatch.setattr(run_stats, "curation_stats", refuse)
    assert main(["stats", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("siamfc stats: error: ")


def test_a_bug_as_a_real_process(tmp_path):
    """The same as a user sees it: stderr holds the traceback and the bug line, the status is 1."""
    broken = ("from siamfc.tools import run_stats\n"
              "def broken(*a, **k):\n    return 1 / 0\n"
              "run_stats.curation_stats = broken\n")
    done = run_cli("stats", tmp_path, prelude=broken)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr and "ZeroDivisionError" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("siamfc stats: " + BUG)
    bad = run_cli("synth", tmp_path / "s", "--frames", "0", fresh=True)
    assert bad.returncode == 2 and bad.stderr == "siamfc synth: error: --frames must be at least 1, got 0\n"
