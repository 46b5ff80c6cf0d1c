"""Resume is exact for every preset feature: EMA, n_critic, dropout, batch norm, DiffAugment, VAE
pre-training, self-conditioning's clusters, epochs, the progress GIF whose frames live in memory, in-training evaluation, and
both precisions (bf16 in the hand-written and the autograd step)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from counterfeit.rundir import load_run_config
from counterfeit.config import resolve
from counterfeit.data.loading import load_dataset
from counterfeit.train import watch
from counterfeit.train.watch import TrainingWatch
from counterfeit.train import loop, vae
from counterfeit.train.checkpoint import list_checkpoints, read_checkpoint
from counterfeit.train.loop import resume, train
from counterfeit.train.state import TrainState

OUTPUTS = ("generator.safetensors", "generator_raw.safetensors", "discriminator.safetensors", "progress.gif",
           "vae.jsonl", "vae_samples.png")


class Crash(Exception):
    """Stands for a kill: the process ends mid-run, leaving whatever it wrote."""


def crash_before_step(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    real = loop.make_step

    def make_step(state: TrainState) -> Any:
        update = real(state)

        def crashing_step(batch: torch.Tensor, labels: torch.Tensor | None = None) -> Any:
            if state.step == step:
                raise Crash(step)
            return update(batch, labels)
        return crashing_step

    monkeypatch.setattr(loop, "make_step", make_step)


def without_seconds(path: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in path.read_text().splitlines()]


def assert_same_run(a: Path, b: Path) -> None:
    """Every output byte for byte (the logs but for wall time), the same sample grids."""
    for name in OUTPUTS:
        assert (a / name).exists() == (b / name).exists(), name
        if name.endswith(".jsonl") and (a / name).exists():
            assert without_seconds(a / name) == without_seconds(b / name), name
        elif (a / name).exists():
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    grids = sorted(p.name for p in (a / "samples").iterdir())
    assert grids == sorted(p.name for p in (b / "samples").iterdir())
    assert all((a / "samples" / g).read_bytes() == (b / "samples" / g).read_bytes() for g in grids)
    assert without_seconds(a / "metrics.jsonl") == without_seconds(b / "metrics.jsonl")


DCGAN = {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal", "g_output": "tanh"}
BASE = {"steps": "30", "checkpoint_every": "10", "log_every": "3", "sample_every": "10", "frame_every": "4"}
FEATURES = {
    "ema, n_critic 2, dropout": {"ema": "0.9", "n_critic": "2", "d_dropout": "0.3"},
    "dcgan (batch norm), ema": {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal",
                                "g_output": "tanh", "ema": "0.8"},
    "wgan-gp, n_critic 3": {"loss": "wgan-gp", "n_critic": "3"},
    "augment (translation, cutout), n_critic 2": {"augment": "translation,cutout", "n_critic": "2"},
    "cmlp (labels, AC-GAN head), dropout": {"model": "cmlp", "aux_weight": "1.0", "d_dropout": "0.3",
                                            "grid_size": "20"},
    "bf16 hand-written step, dropout": {"precision": "bf16", "d_dropout": "0.3", "activation": "leaky_relu"},
    "bf16 dcgan (autocast), ema": {"precision": "bf16", "model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8",
                                   "init": "dcgan-normal", "g_output": "tanh", "ema": "0.8"},
    "spectral norm, dcgan": {**DCGAN, "d_norm": "spectral"},
    "spectral norm, mlp with dropout": {"d_norm": "spectral", "d_dropout": "0.3"},
    "lazy r1, n_critic 2": {"r1_gamma": "5", "r1_every": "3", "n_critic": "2"},
    "minibatch std, dcgan": {**DCGAN, "d_mbstd": "true"},
    "spectral norm, minibatch std, r1: cdcgan with AC-GAN head": {
        **DCGAN, "model": "cdcgan", "aux_weight": "1", "grid_size": "20", "d_norm": "spectral", "d_mbstd": "true",
        "r1_gamma": "1", "r1_every": "4"},
    "self-conditioned dcgan (clusters fitted at the start), ema": {**DCGAN, "clusters": "5", "prior": "normal",
                                                                   "ema": "0.8"},
    "lr decay over the last half (checkpoint and crash inside it), fast mlp step": {"lr_decay": "0.5"},
    "lr decay, dcgan": {**DCGAN, "lr_decay": "0.5"},
    "stacked-mnist (3 channels, its own data stream), fast mlp step": {"data": "stacked-mnist", "channels": "3",
                                                                      "grid_size": "16"},
}


# `device`: on a GPU every feature is checked there too, where cuDNN and cuBLAS must repeat themselves.
@pytest.mark.parametrize("features", FEATURES.values(), ids=FEATURES.keys())
def test_crashed_and_resumed_run_is_the_uninterrupted_one(features: dict[str, str], device: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = resolve(preset="tiny", overrides={**BASE, **features, "device": device})
    reference = train(config, out=tmp_path / "reference", quiet=True)
    with monkeypatch.context() as patch:
        crash_before_step(patch, 25)  # checkpoints at 10 and 20; metrics, grids and frames past 20
        with pytest.raises(Crash):
            train(config, out=tmp_path / "run", quiet=True)
    assert [p.name for p in list_checkpoints(tmp_path / "run")][-1] == "step_000020.safetensors"
    resume(tmp_path / "run", quiet=True)
    assert_same_run(reference, tmp_path / "run")


def test_checkpoint_holds_the_average_and_the_gif_frames(tmp_path: Path) -> None:
    config = resolve(preset="tiny", overrides={**BASE, **FEATURES["dcgan (batch norm), ema"]})
    run = train(config, out=tmp_path / "run", quiet=True)
    last = read_checkpoint(list_checkpoints(run)[-1])
    averaged, raw = load_file(run / "generator.safetensors"), load_file(run / "generator_raw.safetensors")
    assert any("running_mean" in name for name in averaged)  # batch norm buffers are in it too
    for name in averaged:
        assert torch.equal(last.tensors[f"ema/{name}"], averaged[name]), name
        assert torch.equal(last.tensors[f"generator/{name}"], raw[name]), name
    assert any(not torch.equal(averaged[name], raw[name]) for name in averaged)  # two different things
    frames, steps = last.tensors["snapshots/frames"], last.tensors["snapshots/steps"]
    assert frames.dtype == torch.uint8 and frames.shape == (len(steps), config.grid_size, 28, 28)
    assert steps.tolist() == [*range(0, 30, 4), 30]


def test_resume_skips_vae_pre_training_and_keeps_its_records(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = resolve(preset="tiny", overrides={**BASE, "g_init": "vae", "vae_steps": "12", "ema": "0.9"})
    reference = train(config, out=tmp_path / "reference", quiet=True)
    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        crash_before_step(patch, 25)
        with pytest.raises(Crash):
            train(config, out=run, quiet=True)
    records = (run / "vae.jsonl").read_bytes(), (run / "vae_samples.png").read_bytes()
    calls = []
    monkeypatch.setattr(loop, "pretrain_vae", lambda *args: calls.append(args))
    resume(run, quiet=True)
    assert calls == []  # G, its average and the RNGs came from the checkpoint
    assert ((run / "vae.jsonl").read_bytes(), (run / "vae_samples.png").read_bytes()) == records
    assert_same_run(reference, run)


def test_killed_during_vae_pre_training_starts_over_cleanly(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = resolve(preset="tiny", overrides={**BASE, "g_init": "vae", "vae_steps": "25", "log_every": "5"})
    reference = train(config, out=tmp_path / "reference", quiet=True)
    run = tmp_path / "run"
    calls = {"n": 0}
    real_loss = vae.vae_loss

    def vae_loss(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 18:
            raise Crash("during VAE pre-training")
        return real_loss(*args)

    with monkeypatch.context() as patch:
        patch.setattr(vae, "vae_loss", vae_loss)
        with pytest.raises(Crash):
            train(config, out=run, quiet=True)
    assert [r["step"] for r in without_seconds(run / "vae.jsonl")] == [1, 5, 10, 15]  # a partial log
    assert not list_checkpoints(run)
    resume(run, quiet=True)
    assert [r["step"] for r in without_seconds(run / "vae.jsonl")] == [1, 5, 10, 15, 20, 25]  # once each
    assert_same_run(reference, run)


def test_epochs_run_resumes_to_its_recorded_steps_and_extends(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    np.savez(tmp_path / "small.npz", images=np.random.default_rng(0).integers(0, 256, (100, 28, 28), np.uint8))
    config = resolve(preset="tiny", overrides={"data": str(tmp_path / "small.npz"), "epochs": "4",
                                               "checkpoint_every": "5", "log_every": "1", "frame_every": "2"})
    reference = train(config, out=tmp_path / "reference", quiet=True)
    assert load_run_config(reference).steps == 12  # 3 batches of 32 an epoch
    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        crash_before_step(patch, 8)
        with pytest.raises(Crash):
            train(config, out=run, quiet=True)
    resume(run, quiet=True)
    assert_same_run(reference, run)
    assert (load_run_config(run).epochs, load_run_config(run).steps) == (4, 12)
    resume(run, {"steps": 20}, quiet=True)  # --resume --steps N: N steps, epochs no longer apply
    assert (load_run_config(run).epochs, load_run_config(run).steps) == (0, 20)
    assert read_checkpoint(list_checkpoints(run)[-1]).step == 20
    resume(run, {"epochs": 8}, quiet=True)  # or a new length in epochs, resolved on the same data
    assert (load_run_config(run).epochs, load_run_config(run).steps) == (8, 24)
    assert [r["step"] for r in without_seconds(run / "metrics.jsonl")] == list(range(1, 25))


def test_replayed_watch_remembers_streaks_and_fired_signals() -> None:
    config = resolve(preset="tiny", overrides={"steps": "1000"})
    live, replayed = TrainingWatch(config, load_dataset(None), quiet=True), TrainingWatch(config, load_dataset(None),
                                                                                           quiet=True)
    records: list[dict] = []
    for step in range(10, 50, 10):  # four log lines of a D that wins outright: one short of d_wins
        records.append({"step": step, "d_loss": 1e-4, "d_fake": 1e-4})  # as the loop writes them
        live.on_losses(records[-1], records.append)
    records.append({"step": 40, "eval_n": 2000, "classes_covered": 9, "diversity": 0.4})
    records += [s.record() for s in live.monitor.observe_eval(40, records[-1])]
    assert [r["collapse"] for r in records if "collapse" in r] == ["low_diversity"]
    replayed.replay(records)
    for watch in (live, replayed):  # the fifth line fires d_wins; low diversity does not fire again
        fired: list[dict] = []
        watch.on_losses({"step": 50, "d_loss": 1e-4, "d_fake": 1e-4}, fired.append)
        assert [r["collapse"] for r in fired] == ["d_wins"]
        assert not watch.monitor.observe_eval(50, {"classes_covered": 9, "diversity": 0.1})
        assert [s.name for s in watch.monitor.observe_eval(60, {"classes_covered": 7, "diversity": 0.1})] == [
            "classes_falling"]


@pytest.mark.parametrize("abort", [False, True], ids=["eval", "collapse_abort"])
def test_in_training_evaluation_resumes_exactly(abort: bool, device: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERFEIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(watch, "EVAL_N", 500)  # a quarter of the samples: seconds saved, same logic
    config = resolve(preset="tiny", overrides={**BASE, "eval_every": "10", "collapse_abort": str(abort).lower(),
                                               "device": device})
    reference = train(config, out=tmp_path / "reference", quiet=True)
    records = [json.loads(line) for line in (reference / "metrics.jsonl").read_text().splitlines()]
    signals = [r["step"] for r in records if "collapse" in r]
    assert signals  # tiny's G barely moves in 30 steps: its samples look alike
    if abort:  # stopped at the first signal, with a checkpoint there
        assert max(r["step"] for r in records) == signals[0]
        assert read_checkpoint(list_checkpoints(reference)[-1]).step == signals[0]
        resume(reference, quiet=True)  # continues past it: that signal was reported already
        assert read_checkpoint(list_checkpoints(reference)[-1]).step == 30
        return
    with monkeypatch.context() as patch:
        crash_before_step(patch, 25)
        with pytest.raises(Crash):
            train(config, out=tmp_path / "run", quiet=True)
    resume(tmp_path / "run", quiet=True)
    assert_same_run(reference, tmp_path / "run")  # the same evaluations, each signal once
