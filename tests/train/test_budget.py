"""max_seconds: a wall-clock budget stops the run at a step boundary, checkpointed and finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from counterfeit.config import ConfigError, resolve
from counterfeit.train.budget import TimeBudget
from counterfeit.train.checkpoint import list_checkpoints, step_of
from counterfeit.train.distributed import World
from counterfeit.train.loop import resume, train

# Far more steps than a fraction of a second affords: only the budget can end these runs.
LONG = {"steps": "200000", "log_every": "1000", "checkpoint_every": "100000", "sample_every": "100000",
        "frame_every": "100000"}


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_spent_at() -> None:
    assert not TimeBudget(0.0, 0.0, World()).spent_at(1e9)  # 0: no budget
    budget = TimeBudget(2.5, 0.0, World())
    assert not budget.spent_at(2.4) and budget.spent_at(2.5) and budget.spent_at(3.0)


def test_budget_stops_at_a_checkpointed_step_and_resume_adds_none(tmp_path: Path) -> None:
    run = train(resolve(preset="tiny", overrides={**LONG, "max_seconds": "0.4"}), out=tmp_path / "run", quiet=True)
    last = records(run)[-1]
    assert 0 < last["step"] < 200000 and last["seconds"] >= 0.4  # logged at the step it stopped
    assert [step_of(p) for p in list_checkpoints(run)] == [last["step"]]
    for name in ("generator.safetensors", "discriminator.safetensors", "progress.gif", "losses.png"):
        assert (run / name).is_file(), name
    # the grid of the step it stopped at, beside step 0's (sample_every is far beyond it)
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["step_000000.png", f"step_{last['step']:06d}.png"]
    weights = (run / "generator.safetensors").read_bytes()
    resume(run, quiet=True)  # the budget is spent: not one step more
    assert records(run)[-1] == last and (run / "generator.safetensors").read_bytes() == weights
    resume(run, {"max_seconds": 0.8}, quiet=True)  # a budget is a length: it may grow on resume
    assert records(run)[-1]["step"] > last["step"] and records(run)[-1]["seconds"] >= 0.8


def test_vae_pretraining_counts_in_the_clock(tmp_path: Path) -> None:
    overrides = {**LONG, "g_init": "vae", "vae_steps": "20", "log_every": "1", "max_seconds": "0.01"}
    run = train(resolve(preset="tiny", overrides=overrides), out=tmp_path / "run", quiet=True)
    vae_seconds = json.loads((run / "vae.jsonl").read_text().splitlines()[-1])["seconds"]
    first = records(run)[0]
    assert first["seconds"] >= vae_seconds
    assert [r["step"] for r in records(run)] == [1]  # the VAE used the budget up: one GAN step


def test_negative_budget_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_seconds must be 0 or more"):
        resolve(preset="tiny", overrides={"max_seconds": "-1"})
