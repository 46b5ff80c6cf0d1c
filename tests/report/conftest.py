"""Runs to report on, made once per session with tiny configs: a finished run with in-training
evaluations and eval.json, a conditional one, and one caught while it trains."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from counterfeit.cli import main
from counterfeit.config import resolve
from counterfeit.metrics.evaluate import evaluate_path
from counterfeit.train.loop import train

CONDITIONAL = {"g_hidden": "32", "d_hidden": "32", "z_dim": "8", "batch_size": "16", "steps": "6", "log_every": "2",
               "sample_every": "2", "grid_size": "20", "device": "cpu", "eval_every": "2"}


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny, evaluated every 25 steps (its near-constant G fires low_diversity), then judged by eval."""
    run = train(resolve(preset="tiny", overrides={"eval_every": "25"}), out=tmp_path_factory.mktemp("runs") / "tiny-eval",
                quiet=True)
    evaluate_path(run, n=500)
    return run


@pytest.fixture(scope="session")
def conditional_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = train(resolve(preset="cgan", overrides=CONDITIONAL), out=tmp_path_factory.mktemp("runs") / "cgan-tiny",
                quiet=True)
    evaluate_path(run, n=500, per_class=20)
    return run


def logged_step(run: Path) -> int:
    metrics = run / "metrics.jsonl"
    lines = metrics.read_text("utf-8").splitlines() if metrics.exists() else []
    return max((json.loads(line)["step"] for line in lines[:-1]), default=0)  # the last may be half-written


@pytest.fixture(scope="session")
def running_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny run of a million steps, its own report.html copied once it has passed two checkpoints
    (so the page is the one the loop wrote while training), then stopped with Ctrl-C."""
    root = tmp_path_factory.mktemp("running")
    run, page = root / "tiny-running", root / "mid-run.html"
    process = subprocess.Popen([sys.executable, "-m", "counterfeit", "train", "--preset", "tiny", "--steps", "1000000",
                                "--out", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, not a timing check
        while logged_step(run) < 60:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the run did not reach step 60"
            time.sleep(0.05)
        shutil.copy(run / "report.html", page)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    return run, page


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def tree_hashes() -> Callable[[Path], dict[str, str]]:
    """Every file under a folder by its sha256: to show a command changed nothing there."""
    return hashes


@pytest.fixture
def one_line_error(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str], str], None]:
    """Run the CLI and expect bad input: exit 2, one line on stderr naming the problem, nothing on stdout."""
    def check(args: list[str], phrase: str) -> None:
        capsys.readouterr()
        assert main(args) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err
        assert phrase in captured.err and "Traceback" not in captured.err, captured.err
    return check
