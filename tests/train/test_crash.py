"""Kill training at random moments, resume each time: the end must be bit-identical."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from counterfeit.config import resolve
from counterfeit.train.checkpoint import list_checkpoints, step_of
from counterfeit.train.loop import resume, train

# The CLI, with checkpoint writes paused halfway so a kill can land inside one.
DRIVER = """
import sys, time
from contextlib import contextmanager
from counterfeit.train import checkpoint
from counterfeit.cli import main

real_open = checkpoint.atomic_open

class HalfwayPause:
    def __init__(self, handle):
        self.handle = handle
    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        time.sleep(0.05)
        self.handle.write(data[len(data) // 2 :])

@contextmanager
def paused_open(path, mode="wb"):
    with real_open(path, mode) as handle:
        yield HalfwayPause(handle)

checkpoint.atomic_open = paused_open
sys.exit(main(sys.argv[1:]))
"""
# Short: each process pays ~2-4 s to import torch, so three processes (and in-process reference
# and final resume) keep the test near 15 s; the 50 ms pause per checkpoint paces the run.
OVERRIDES = {"steps": 60, "checkpoint_every": 5, "log_every": 5, "sample_every": 20, "frame_every": 10,
             "ema": 0.9}


def newest_step(run: Path) -> int:
    checkpoints = list_checkpoints(run)
    return step_of(checkpoints[-1]) if checkpoints else -1


def wait_for(condition, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and process.poll() is None:
        assert time.monotonic() < deadline, "training made no progress"
        time.sleep(0.005)


@contextmanager
def one_thread() -> Iterator[None]:
    # One thread everywhere: the tiny model gains nothing from two, and on a busy machine two
    # threads spin against each other. (Results do not depend on it; this keeps the setup equal.)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_killed_anywhere_resumes_bit_identical(tmp_path: Path) -> None:
    with one_thread():
        reference = train(resolve(preset="tiny", overrides=OVERRIDES), out=tmp_path / "reference", quiet=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--out", str(run), "--quiet",
            *(f"--set={k}={v}" for k, v in OVERRIDES.items())]
    rng = random.Random()
    # SIGKILL mid-write (the temp file exists) or at a random moment after a checkpoint; and
    # Ctrl-C, which must save a checkpoint, say how to resume and exit 130.
    plans = ["mid-write", "random", "sigint"]
    kills = 0
    for plan in plans:
        process = subprocess.Popen([sys.executable, str(driver), *args], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        before = newest_step(run)
        wait_for(lambda: newest_step(run) > before, process)
        if plan == "mid-write":
            wait_for(lambda: any((run / "checkpoints").glob(".step_*.tmp")), process)
        elif plan == "random":
            time.sleep(rng.uniform(0.0, 0.2))  # at most ~4 checkpoints on: the run is not over
        process.send_signal(signal.SIGINT if plan == "sigint" else signal.SIGKILL)
        _, stderr = process.communicate()
        if process.returncode == 0:
            break  # finished before the signal: nothing left to interrupt
        kills += 1
        if plan == "sigint":
            assert process.returncode == 130, stderr
            assert f"counterfeit train --resume {run}" in stderr and "Traceback" not in stderr
        else:
            assert process.returncode == -signal.SIGKILL, stderr
        args = ["train", "--resume", str(run), "--quiet"]
    assert kills == len(plans)
    with one_thread():  # the same resume as the CLI's, without paying for another process
        resume(run, quiet=True)
    for name in ("generator.safetensors", "generator_raw.safetensors", "discriminator.safetensors",
                 "progress.gif"):
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    assert sorted((run / "samples").iterdir()) != [] and [p.name for p in sorted((run / "samples").iterdir())] \
        == [p.name for p in sorted((reference / "samples").iterdir())]
    steps = [line.split(",")[0] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [line.split(",")[0] for line in (reference / "metrics.jsonl").read_text().splitlines()]
    assert not list(run.rglob("*.tmp"))
