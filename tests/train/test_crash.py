"""Kill training at chosen moments, resume each time: the end must be bit-identical.

Each process signals itself at a fixed point (the Nth checkpoint write, halfway through; the Nth
metrics line, halfway through; right after the Nth step), so the test is the same on every run
and every machine: no sleeps, no race between a watcher and the trainer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from counterfeit.config import resolve
from counterfeit.train.checkpoint import list_checkpoints, step_of
from counterfeit.train.loop import resume, train
from counterfeit.rundir import METRICS_FILE

# The CLI, sending itself SIGKILL or SIGINT at a moment named on its command line:
#   driver.py KIND MOMENT N CLI-ARGS...   KIND: kill | sigint; MOMENT: checkpoint | metrics | step
DRIVER = r"""
import json, os, signal, sys
from contextlib import contextmanager
from counterfeit.cli import main
from counterfeit.rundir import RunDir
from counterfeit.train import checkpoint, loop

kind, moment, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {"checkpoint": 0, "metrics": 0, "step": 0}

def reached(name):
    seen[name] += 1
    if name == moment and seen[name] == count:
        os.kill(os.getpid(), signal.SIGKILL if kind == "kill" else signal.SIGINT)

def write_in_halves(handle, data, name):
    handle.write(data[: len(data) // 2])
    handle.flush()  # on disk: a kill here leaves a half-written file
    reached(name)
    handle.write(data[len(data) // 2 :])

class HalvedWrites:
    def __init__(self, handle):
        self.handle = handle
    def write(self, data):
        write_in_halves(self.handle, data, "checkpoint")

real_open = checkpoint.atomic_open

@contextmanager
def halved_open(path, mode="wb"):
    with real_open(path, mode) as handle:
        yield HalvedWrites(handle)

def append_jsonl(self, name, record):  # RunDir.append_jsonl, written in two halves
    with open(self.path / name, "a", encoding="utf-8") as handle:
        write_in_halves(handle, json.dumps(record) + "\n", "metrics")

real_make_step = loop.make_step

def make_counted_step(state):
    step = real_make_step(state)
    def counted_step(*args):
        output = step(*args)
        reached("step")
        return output
    return counted_step

checkpoint.atomic_open = halved_open
RunDir.append_jsonl = append_jsonl
loop.make_step = make_counted_step
sys.exit(main(sys.argv[4:]))
"""
OVERRIDES = {"steps": 60, "checkpoint_every": 5, "log_every": 5, "sample_every": 20, "frame_every": 10,
             "ema": 0.9}


def newest_step(run: Path) -> int:
    checkpoints = list_checkpoints(run)
    return step_of(checkpoints[-1]) if checkpoints else -1


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


def test_killed_anywhere_resumes_bit_identical(tmp_path: Path, device: str) -> None:
    overrides = {**OVERRIDES, "device": device}
    with one_thread():
        reference = train(resolve(preset="tiny", overrides=overrides), out=tmp_path / "reference", quiet=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--out", str(run), "--quiet",
            *(f"--set={k}={v}" for k, v in overrides.items())]
    metrics = run / METRICS_FILE

    # 1. SIGKILL halfway through the 8th checkpoint (step 40), after step 40's metrics line and
    #    sample grid were written: the resume must drop both and the temp file.
    stderr = interrupted(driver, ["kill", "checkpoint", "8", *args], env, -signal.SIGKILL)
    assert newest_step(run) == 35 and list((run / "checkpoints").glob(".step_000040*.tmp")), stderr
    assert (run / "samples" / "step_000040.png").exists()
    assert json.loads(metrics.read_text().splitlines()[-1])["step"] == 40
    resume_args = ["train", "--resume", str(run), "--quiet"]

    # 2. SIGKILL halfway through a metrics line: the second this process writes (step 45; from 35
    #    the first is step 40's), five steps past checkpoint 40. The half line must be dropped.
    stderr = interrupted(driver, ["kill", "metrics", "2", *resume_args], env, -signal.SIGKILL)
    assert newest_step(run) == 40, stderr
    assert not metrics.read_text().endswith("\n")  # a half line

    # 3. Ctrl-C right after this process's 3rd step (43): it finishes the step, checkpoints it,
    #    says how to resume and exits 130.
    stderr = interrupted(driver, ["sigint", "step", "3", *resume_args], env, 130)
    assert newest_step(run) == 43
    assert f"counterfeit train --resume {run}" in stderr and "Traceback" not in stderr

    with one_thread():  # the same resume as the CLI's, without paying for another process
        resume(run, quiet=True)
    for name in ("generator.safetensors", "generator_raw.safetensors", "discriminator.safetensors",
                 "progress.gif"):
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    assert sorted((run / "samples").iterdir()) != [] and [p.name for p in sorted((run / "samples").iterdir())] \
        == [p.name for p in sorted((reference / "samples").iterdir())]
    steps = [line.split(",")[0] for line in metrics.read_text().splitlines()]
    assert steps == [line.split(",")[0] for line in (reference / METRICS_FILE).read_text().splitlines()]
    assert not list(run.rglob("*.tmp"))


def interrupted(driver: Path, args: list[str], env: dict[str, str], returncode: int) -> str:
    """Runs the driver to its signal; returns its stderr."""
    process = subprocess.run([sys.executable, str(driver), *args], capture_output=True, text=True, env=env)
    assert process.returncode == returncode, process.stderr
    return process.stderr
