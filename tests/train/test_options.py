"""Every training option of issue 5 trains a few steps and changes what it should."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import counterfeit
from counterfeit.rundir import load_run_config
from counterfeit.config import ConfigError, parse_set, resolve, resolve_epochs
from counterfeit.losses import LOSSES
from counterfeit.train import snapshots
from counterfeit.train.loop import train
from counterfeit.train.state import build_state, lr_scale
from counterfeit.train.step import make_step

FEW = {"steps": "3", "log_every": "1"}


@pytest.mark.parametrize("item", [
    "loss=minimax", "loss=nonsaturating", "loss=lsgan", "loss=hinge", "loss=wgan-gp",
    "prior=uniform", "prior=normal", "prior=sphere", "g_hidden=16,32,64", "d_hidden=64,32,16",
])
def test_option_trains_and_is_used(item: str, tmp_path: Path) -> None:
    overrides = {**FEW, **parse_set([item])}
    run = train(resolve(preset="tiny", overrides=overrides), out=tmp_path / "run", quiet=True)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all() for r in records)
    state = build_state(load_run_config(run))
    key, value = item.split("=")
    if key == "loss":
        assert state.loss is LOSSES[value]
    elif key == "prior":
        assert state.prior.name == value
    else:
        net = state.generator if key == "g_hidden" else state.discriminator
        widths = [m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)][:-1]
        assert widths == [int(w) for w in value.split(",")]


def test_learning_rates_and_betas_reach_the_optimisers() -> None:
    state = build_state(resolve(preset="tiny", overrides=parse_set(["lr_g=3e-4", "lr_d=7e-4", "betas=0.5,0.99"])))
    assert state.g_opt.param_groups[0]["lr"] == 3e-4 and state.d_opt.param_groups[0]["lr"] == 7e-4
    assert state.g_opt.param_groups[0]["betas"] == (0.5, 0.99) == state.d_opt.param_groups[0]["betas"]


def test_lr_scale_by_hand() -> None:
    # 100 steps, the last quarter decays: 1 through step 75, then (100 - t) / 25
    assert [lr_scale(t, 100, 0.25) for t in (0, 74, 75, 76, 90, 99)] == [1, 1, 1, 24 / 25, 10 / 25, 1 / 25]
    assert lr_scale(100, 100, 0.25) == 0.0 and lr_scale(7, 100, 0.0) == 1.0  # past the end; off


@pytest.mark.parametrize("model", [{}, {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "g_output": "tanh",
                                     "init": "dcgan-normal"}],
                         ids=["hand-written mlp step", "autograd conv step"])
def test_lr_decay_scales_each_update_it_reaches(model: dict[str, str]) -> None:
    """Two runs alike until the decay starts; in its first step (t = 6 of 10, scale 4/5) Adam moves
    every weight of D, updated first, 4/5 as far as with constant rates (same gradients, same moments)."""
    real = torch.rand(32, 1, 28, 28)
    runs = {}
    for decay in ("0", "0.5"):
        state = build_state(resolve(preset="tiny", overrides={**model, "steps": "10", "lr_decay": decay}))
        step = make_step(state)
        for _ in range(6):
            step(real)
        assert state.d_opt.param_groups[0]["lr"] == state.config.lr_d * (0.8 if decay == "0.5" else 1)
        before = [p.detach().clone() for p in state.discriminator.parameters()]
        step(real)
        runs[decay] = [p.detach() - b for p, b in zip(state.discriminator.parameters(), before)]
    for constant, decayed in zip(runs["0"], runs["0.5"]):
        torch.testing.assert_close(decayed, 0.8 * constant, rtol=1e-4, atol=5e-8)  # steps ~1e-4; ulps of the weights


def test_n_critic_updates_d_that_many_times_per_step() -> None:
    config = resolve(preset="tiny", overrides=parse_set(["loss=wgan-gp", "n_critic=3"]))
    state = build_state(config)
    for _ in range(2):
        make_step(state)(torch.rand(3 * 32, 1, 28, 28))
    d_adam_steps = state.d_opt.state[next(state.discriminator.parameters())]["step"]
    g_adam_steps = state.g_opt.state[next(state.generator.parameters())]["step"]
    assert (int(d_adam_steps), int(g_adam_steps)) == (6, 2)
    assert state.images_seen == 2 * 3 * 32


def test_gp_weight_changes_the_critic_update() -> None:
    def d_after_one_step(gp_weight: str) -> list[torch.Tensor]:
        state = build_state(resolve(preset="tiny", overrides={"loss": "wgan-gp", "gp_weight": gp_weight}))
        make_step(state)(torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(1)))
        return [p.detach().clone() for p in state.discriminator.parameters()]

    with_gp, without_gp = d_after_one_step("10"), d_after_one_step("0")
    assert any(not torch.equal(a, b) for a, b in zip(with_gp, without_gp))


def test_epochs_resolve_against_the_dataset_and_are_recorded(tmp_path: Path) -> None:
    np.savez(tmp_path / "small.npz", images=np.zeros((100, 28, 28), np.uint8))
    config = resolve(preset="tiny", overrides={"data": str(tmp_path / "small.npz"), "epochs": "2", "n_critic": "2"})
    run = train(config, out=tmp_path / "run", quiet=True)
    saved = load_run_config(run)
    assert (saved.epochs, saved.steps) == (2, 2 * (100 // 32) // 2)  # 3 batches an epoch, 2 per step


def test_mlp4_epochs_become_the_tutorials_step_counts() -> None:
    config = resolve(preset="mlp4")
    assert resolve_epochs(config, 10_000).steps == 20_000
    assert resolve_epochs(config, 60_000).steps == 120_000
    assert resolve_epochs(config.replace(epochs=0, steps=5), 60_000).steps == 5


def test_steps_given_later_turn_epochs_off() -> None:
    assert resolve(preset="mlp4", overrides={"steps": "7"}).epochs == 0
    with pytest.raises(ConfigError, match="steps and epochs = 3 are both given"):  # the 7 steps were dropped unsaid
        resolve(preset="mlp4", overrides={"steps": "7", "epochs": "3"})


def test_gif_frames_and_png_grids_have_their_own_cadence(tmp_path: Path) -> None:
    run = train(resolve(preset="tiny", overrides={"frame_every": "10", "sample_every": "25"}),
                out=tmp_path / "run", quiet=True)
    assert len(list((run / "samples").glob("*.png"))) == 3  # steps 0, 25, 50
    with Image.open(run / "progress.gif") as gif:
        assert gif.n_frames == 6  # steps 0, 10, ..., 50


def test_api_steps_override_a_configs_epochs(tmp_path: Path) -> None:
    config = resolve(preset="tiny", overrides={"epochs": "5"})
    run = counterfeit.train(config=config, steps=2, out=tmp_path / "run")
    assert load_run_config(run).steps == 2


def test_api_a_preset_beside_a_config_of_another_is_refused(tmp_path: Path) -> None:
    config = resolve(preset="tiny")
    with pytest.raises(ConfigError, match="preset='mlp2' and a config of preset 'tiny'"):  # was tiny, unsaid
        counterfeit.train(config=config, preset="mlp2", out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_long_runs_thin_the_gif_to_its_frame_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots, "GIF_MAX_FRAMES", 4)
    run = train(resolve(preset="tiny", overrides={"frame_every": "5", "steps": "40"}), out=tmp_path / "run", quiet=True)
    with Image.open(run / "progress.gif") as gif:
        assert gif.n_frames == 4  # of 9 frames (steps 0, 5, ..., 40): every 3rd (0, 15, 30) and the last
