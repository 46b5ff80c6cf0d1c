from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from counterfeit.config import resolve
from counterfeit.errors import ConfigError, UserError
from counterfeit.train.checkpoint import checkpoint_path, read_checkpoint
from counterfeit.train.distributed import World, check_split, init_world
from counterfeit.train.loop import resume, train

STEPS = 6


def _torchrun(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _torchrun_train("--preset", "tiny", "--steps", str(STEPS), "--out", str(out), *args)


def _torchrun_train(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "counterfeit", "train", "--quiet", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_two_processes_train_the_weights_one_process_trains(tmp_path: Path) -> None:
    """Each rank takes half of the same global batch and noise; averaged gradients give one update."""
    single = train(resolve(preset="tiny", overrides={"steps": STEPS}), out=tmp_path / "one", quiet=True)
    result = _torchrun(tmp_path / "two")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(tmp_path / "two")]  # rank 0 alone: the one line `RUN=$(torchrun ...)` reads
    for name in ("generator.safetensors", "discriminator.safetensors"):
        one, two = load_file(single / name), load_file(tmp_path / "two" / name)
        for key in one:
            torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)
    one_log = [json.loads(line) for line in (single / "metrics.jsonl").read_text().splitlines()]
    two_log = [json.loads(line) for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in two_log] == [r["step"] for r in one_log]  # written once, by rank 0
    for a, b in zip(one_log, two_log):
        assert b["d_loss"] == pytest.approx(a["d_loss"], rel=1e-4)  # mean of the ranks' means
        assert b["g_loss"] == pytest.approx(a["g_loss"], rel=1e-4)


def test_two_processes_resume_as_if_never_stopped(tmp_path: Path) -> None:
    """Stopped after its step-4 checkpoint and resumed under torchrun, a 2-process run ends
    bit-identical to the uninterrupted one. With dropout in D each rank draws its own masks from
    its own torch RNG, so rank 1 must get back its own state (given rank 0's, or its step-0 one,
    D's weights differ)."""
    full = tmp_path / "full"
    result = _torchrun(full, "--set", "d_dropout=0.3", "--set", "checkpoint_every=4", "--set", "log_every=2")
    assert result.returncode == 0, result.stderr[-2000:]
    last = read_checkpoint(checkpoint_path(full, STEPS))
    assert last.meta["processes"] == 2
    assert not torch.equal(last.tensors["ranks/1/rng/torch"], last.tensors["rng/torch"])  # dropout drew apart
    stopped = tmp_path / "stopped"  # as if killed after step 4's checkpoint
    shutil.copytree(full, stopped)
    checkpoint_path(stopped, STEPS).unlink()

    result = _torchrun_train("--resume", str(stopped))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(stopped)]
    for name in ("generator.safetensors", "discriminator.safetensors"):
        assert (stopped / name).read_bytes() == (full / name).read_bytes(), name
    resumed = read_checkpoint(checkpoint_path(stopped, STEPS)).tensors  # every rank's RNGs too
    assert resumed.keys() == last.tensors.keys()
    assert all(torch.equal(resumed[key], last.tensors[key]) for key in resumed)
    timeless = [{k: v for k, v in json.loads(line).items() if k != "seconds"}
                for run in (full, stopped) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert timeless[: len(timeless) // 2] == timeless[len(timeless) // 2:]
    with pytest.raises(UserError, match="written by 2 processes, this resume runs 1 process; resume it with 2"):
        resume(full, {"steps": STEPS + 2}, quiet=True)


def test_another_number_of_processes_is_refused_in_one_line(tmp_path: Path) -> None:
    one = train(resolve(preset="tiny", overrides={"steps": 4}), out=tmp_path / "one", quiet=True)
    before = _files(one)
    result = _torchrun_train("--resume", str(one), "--steps", "8")
    assert result.returncode != 0
    message = (f"counterfeit train: error: --resume {one}: checkpoint step_000004.safetensors was written by "
               "1 process, this resume runs 2 processes; resume it with 1")
    # Once per rank (the ranks share stderr, so their lines may run together), and nothing else of ours.
    assert result.stderr.count(message) == 2 and result.stderr.count("counterfeit train:") == 2
    assert re.search(r"exitcode\s*:\s*2\b", result.stderr)  # torchrun's report of the failed ranks
    assert _files(one) == before


def _files(run: Path) -> dict[Path, bytes]:
    """The run's files but its lock (which records the pid of the last process to take it)."""
    return {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != "train.lock"}


def test_a_batch_that_does_not_split_fails_before_joining(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError, match="batch_size: 32 does not split evenly over 3"):
        init_world(resolve(preset="tiny"))


def test_minibatch_std_groups_must_divide_each_process_rows() -> None:
    config = resolve(preset="tiny", overrides={"d_mbstd": "true", "d_mbstd_group": "8"})  # 32 rows: 4 groups
    check_split(config, 2)  # 16 rows each: two groups of 8
    with pytest.raises(ConfigError, match="gives each of 8 processes 4 rows, not a multiple of d_mbstd_group 8"):
        check_split(config, 8)


def test_world_shards_rows_and_averages_as_identity_alone() -> None:
    batch = torch.arange(12.0).view(6, 2)
    assert torch.equal(World(rank=1, size=3).shard(batch), batch[2:4])
    grads = [torch.ones(2, 2), torch.zeros(3)]
    assert World().average(grads) is grads
