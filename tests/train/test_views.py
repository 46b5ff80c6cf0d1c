"""The views the loop keeps (report.html, TensorBoard): they say how the run ended, and never
end training when they cannot be written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from counterfeit.config import resolve
from counterfeit.report.rundata import read_run
from counterfeit.report.status import run_status
from counterfeit.report.tensorboard import TensorBoardLog
from counterfeit.train import loop, views


def shown_status(run: Path) -> str:
    text = (run / "report.html").read_text("utf-8")
    return text.split('id="status">')[1].split("<")[0]


def test_a_report_that_cannot_be_written_is_warned_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(views, "write_report", full_disk)
    monkeypatch.setattr(TensorBoardLog, "sync", full_disk)
    run = loop.train(resolve(preset="tiny", overrides={"tensorboard": "true"}), out=tmp_path / "run", quiet=True)
    assert (run / "generator.safetensors").is_file() and not (run / "report.html").exists()
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [
        f"warning: could not write TensorBoard events of {run} (OSError: [Errno 28] No space left on device); "
        "training goes on",
        f"warning: could not write report.html of {run} (OSError: [Errno 28] No space left on device); "
        "training goes on"]


def test_a_failed_run_says_so_and_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_make_step, calls = loop.make_step, {"n": 0}

    def make_step_that_breaks(state: object) -> object:
        step = real_make_step(state)

        def breaking(*args: object) -> object:
            calls["n"] += 1
            if calls["n"] == 33:
                raise RuntimeError("the device went away")
            return step(*args)
        return breaking

    monkeypatch.setattr(loop, "make_step", make_step_that_breaks)
    with pytest.raises(RuntimeError, match="the device went away"):
        loop.train(resolve(preset="tiny"), out=tmp_path / "run", quiet=True)
    run = tmp_path / "run"
    last = json.loads((run / "metrics.jsonl").read_text("utf-8").splitlines()[-1])
    assert last == {"step": 32, "failed": "RuntimeError: the device went away"}
    assert shown_status(run) == "failed"
    assert run_status(read_run(run)).full == "failed at step 32: RuntimeError: the device went away"
    loop.resume(run, quiet=True)  # from checkpoint 20, past the failure (the step breaks only once)
    assert not [line for line in (run / "metrics.jsonl").read_text("utf-8").splitlines() if "failed" in line]
    assert shown_status(run) == "finished"


def test_collapse_abort_ends_the_run_stopped(tmp_path: Path) -> None:
    config = resolve(preset="tiny", overrides={"eval_every": "10", "collapse_abort": "true"})
    run = loop.train(config, out=tmp_path / "run", quiet=True)
    assert shown_status(run) == "stopped"
    assert run_status(read_run(run)).detail.startswith("ended by collapse_abort (sample diversity is ")
