from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from counterfeit.config import resolve
from counterfeit.errors import ConfigError
from counterfeit.train.distributed import World, init_world
from counterfeit.train.loop import train

STEPS = 6


def _torchrun(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "counterfeit", "train", "--preset", "tiny", "--steps", str(STEPS), "--out", str(out),
               "--quiet", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_two_processes_train_the_weights_one_process_trains(tmp_path: Path) -> None:
    """Each rank takes half of the same global batch and noise; averaged gradients give one update."""
    single = train(resolve(preset="tiny", overrides={"steps": STEPS}), out=tmp_path / "one", quiet=True)
    result = _torchrun(tmp_path / "two")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(tmp_path / "two")] * 2  # every rank names rank 0's directory
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


def test_a_batch_that_does_not_split_fails_before_joining(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError, match="batch_size: 32 does not split evenly over 3"):
        init_world(resolve(preset="tiny"))


def test_world_shards_rows_and_averages_as_identity_alone() -> None:
    batch = torch.arange(12.0).view(6, 2)
    assert torch.equal(World(rank=1, size=3).shard(batch), batch[2:4])
    grads = [torch.ones(2, 2), torch.zeros(3)]
    assert World().average(grads) is grads
