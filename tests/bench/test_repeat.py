"""`bench --runs N`: N fresh processes, each run's JSON kept, their medians printed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from counterfeit.bench.repeat import repeat, run_files
from counterfeit.bench.summary import read_runs
from counterfeit.cli import main
from counterfeit.errors import UserError


def test_runs_are_measured_apart_kept_and_summarised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "today"
    assert main(["bench", "--preset", "tiny", "--precision", "fp32", "--seconds", "0.05", "--threads", "1",
                 "--runs", "2", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    paths = [out / "run1.json", out / "run2.json"]
    runs = read_runs(paths)  # each file is a whole `bench --json` output
    assert summary["runs"] == 2 and summary["threads"] == 1
    (result,) = summary["results"]
    assert (result["preset"], result["precision"], result["runs"]) == ("tiny", "fp32", 2)
    measured = sorted(run[0]["steps_per_s"] for run in runs)
    assert (result["steps_per_s"]["min"], result["steps_per_s"]["max"]) == (measured[0], measured[1])
    assert f"run 2/2: {paths[1]}" in captured.err


def test_a_folder_that_holds_a_run_already_is_refused_before_measuring(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run2.json").write_text("kept")
    assert main(["bench", "--preset", "tiny", "--runs", "3", "--out", str(tmp_path)]) == 2
    assert "run2.json exists already" in capsys.readouterr().err
    assert (tmp_path / "run2.json").read_text() == "kept" and not (tmp_path / "run1.json").exists()
    with pytest.raises(UserError, match="exists and is not a folder"):
        run_files(tmp_path / "run2.json", 1)


def test_a_failed_run_is_named_with_its_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"bench run 1 of 2 failed: .*no-such-preset"):
        repeat(["--preset=no-such-preset"], run_files(tmp_path / "out", 2), report=lambda line: None)
    assert not (tmp_path / "out" / "run1.json").exists()


@pytest.mark.parametrize("args, phrase", [
    (["--runs", "2", "--summarize", "x.json"], "--runs 2: cannot be combined with --summarize or --to-quality"),
    (["--runs", "2", "--to-quality", "cdcgan"], "--runs 2: cannot be combined"),
    (["--preset", "tiny", "--out", "somewhere"], "--out somewhere: only with --to-quality or --runs"),
    (["--preset", "tiny", "--runs", "2", "--set", "batch_size=0"], "batch_size"),
])
def test_bad_run_options_are_one_line_errors(args: list[str], phrase: str, capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing measured, nothing written


def test_a_run_count_below_one_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--runs", "0"])
    assert exit_.value.code == 2 and "argument --runs: must be positive, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_run_in_progress_too(tmp_path: Path, signum: int) -> None:
    parent = subprocess.Popen([sys.executable, "-m", "counterfeit", "bench", "--preset", "tiny", "--runs", "3",
                               "--seconds", "5", "--out", str(tmp_path / "out")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def children() -> list[Path]:  # the measuring processes this bench started
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent.pid:
                    found.append(proc)
            except (OSError, ValueError, IndexError):
                continue
        return found

    deadline = time.monotonic() + 60
    while not (running := children()):
        assert time.monotonic() < deadline and parent.poll() is None, "the first run never started"
        time.sleep(0.05)
    time.sleep(0.5)
    parent.send_signal(signum)
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 130 and "counterfeit bench: interrupted" in err and "Traceback" not in err
    assert all(_ended(proc) for proc in running)  # killed, not left measuring
    assert not (tmp_path / "out" / "run1.json").exists()


def _ended(proc: Path) -> bool:
    """Gone, or a zombie: killed but not (yet) reaped by whoever inherited it."""
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_each_run_is_given_the_same_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forwarded: list[list[str]] = []
    monkeypatch.setattr("counterfeit.bench.repeat.repeat", lambda args, paths: forwarded.append(args) or [])
    monkeypatch.setattr("counterfeit.cli._print_summary", lambda paths, as_json: 0)
    assert main(["bench", "--preset", "tiny", "--device", "cpu", "--threads", "1", "--seconds", "0.5",
                 "--precision", "bf16", "--set", "batch_size=8", "--runs", "2", "--out", str(tmp_path / "o")]) == 0
    assert forwarded == [["--preset=tiny", "--set=batch_size=8", "--seconds=0.5", "--precision=bf16", "--threads=1",
                          "--device=cpu"]]
