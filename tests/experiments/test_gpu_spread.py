"""Runs that train on CUDA are spread over the GPUs, one GPU per run's process. Tested without a
GPU: the GPUs are made up (Ray schedules on the count it is told; CUDA_VISIBLE_DEVICES naming a GPU
that is not there leaves torch on the CPU), and each run's record says which GPU it was shown."""

from __future__ import annotations

import multiprocessing
import os
import tomllib
from pathlib import Path

import pytest

from counterfeit.config import resolve
from counterfeit.experiments import backends, run_experiment, runner
from counterfeit.experiments.backends import gpu_share, take_gpu
from counterfeit.experiments.execute import RunTask
from counterfeit.experiments.expdir import read_events
from counterfeit.experiments.spec import Evaluation

LABELS = ["base/seed-0", "wide/seed-0", "base/seed-1", "wide/seed-1"]


def shown_gpus(root: Path) -> dict[str, str | None]:
    """Per run, the CUDA_VISIBLE_DEVICES its process had, from its config.toml's [run] table."""
    return {label: tomllib.loads((root / label / "config.toml").read_text())["run"].get("cuda_visible_devices")
            for label in LABELS}


def ended(root: Path) -> list[str]:
    return [e["event"] for e in read_events(root) if e["event"] in ("done", "failed", "interrupted")]


def quiet(line: str) -> None:
    """Progress lines are for people."""


@pytest.fixture
def experiment_file(tmp_path: Path, tiny_text: str) -> Path:
    """The tiny experiment with `device = "auto"` (tiny's own is "cpu"): CUDA where there is a GPU."""
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_text.replace("eval_every = 20", 'eval_every = 20\ndevice = "auto"'))
    return path


def test_local_workers_each_keep_one_of_the_gpus(experiment_file: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "visible_gpus", lambda: ["3", "5"])
    root = run_experiment(experiment_file, out=tmp_path / "exp", workers=2, log=quiet)
    assert set(shown_gpus(root).values()) <= {"3", "5"}  # each run saw one GPU, not both
    assert ended(root) == ["done"] * 4  # trained on the CPU: no GPU "3" or "5" here


def test_runs_on_the_cpu_are_given_no_gpu(experiment_file: Path, tiny_text: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "visible_gpus", lambda: ["3", "5"])
    experiment_file.write_text(tiny_text)  # tiny trains on the CPU (device = "cpu")
    root = run_experiment(experiment_file, out=tmp_path / "exp", workers=2, log=quiet)
    assert set(shown_gpus(root).values()) == {os.environ.get("CUDA_VISIBLE_DEVICES")}  # as the runner had it


def test_a_worker_takes_one_slot_and_its_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    slots = multiprocessing.get_context("spawn").SimpleQueue()
    for gpu in ("3", "5", None):
        slots.put(gpu)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    take_gpu(slots)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    take_gpu(slots)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    take_gpu(slots)  # no GPUs to spread: the process keeps what it was given
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"


def task(device: str) -> RunTask:
    return RunTask("v/seed-0", "unused", resolve(preset="tiny", overrides={"device": device}), Evaluation(), 1)


def test_the_gpu_share_each_ray_run_asks_for() -> None:
    on_cuda, on_cpu = [task("auto"), task("cuda")], [task("cpu")]
    assert gpu_share(on_cpu, cluster_gpus=4, workers=2) == 0  # no run trains on CUDA
    assert gpu_share(on_cuda, cluster_gpus=0, workers=2) == 0  # no GPU to ask for
    assert gpu_share(on_cuda, cluster_gpus=1, workers=4) == 0.25  # a local instance: 4 runs share its GPU
    assert gpu_share(on_cuda, cluster_gpus=8, workers=4) == 1  # at most one GPU a run
    assert gpu_share(on_cuda, cluster_gpus=8, workers=None) == 1  # a cluster: one GPU per run


def test_ray_gives_each_run_one_gpu(experiment_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "visible_gpus", lambda: ["0", "1"])  # the local instance's made-up GPUs
    root = run_experiment(experiment_file, out=tmp_path / "exp", workers=2, backend="ray", log=quiet)
    assert set(shown_gpus(root).values()) <= {"0", "1"}  # Ray's pick for each run, one GPU each
    assert ended(root) == ["done"] * 4
