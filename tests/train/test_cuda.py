"""The GPU path. These run only where CUDA is available; elsewhere they skip."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from counterfeit.bench.textbook import textbook_state, textbook_step
from counterfeit.config import resolve
from counterfeit.train.loop import train
from counterfeit.train.state import build_state
from counterfeit.train.step import make_step

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@cuda
def test_auto_picks_cuda_and_a_run_trains_there(tmp_path: Path) -> None:
    config = resolve(preset="tiny", overrides={"device": "auto", "steps": "5"})
    assert build_state(config).device.type == "cuda"
    run = train(config, out=tmp_path / "run", quiet=True)
    assert 'device = "cuda:0"' in (run / "config.toml").read_text()


@cuda
def test_fast_step_equals_textbook_step_on_cuda() -> None:
    config = resolve(preset="mlp2", overrides={"batch_size": "64", "device": "cuda"})
    fast, slow = build_state(config), textbook_state(config)
    real, step = torch.rand(64, 1, 28, 28, device="cuda"), make_step(fast)
    for _ in range(3):
        step(real)
        textbook_step(real, slow)
    for a, b in zip(fast.generator.parameters(), slow.generator.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


@cuda
def test_bf16_step_on_cuda_keeps_float32_weights() -> None:
    """mlp2 in bf16 takes the hand-written step (bfloat16 copies of the weights, torch.addmm on CUDA)."""
    s = build_state(resolve(preset="mlp2", overrides={"batch_size": "64", "device": "cuda", "precision": "bf16"}))
    out = make_step(s)(torch.rand(64, 1, 28, 28, device="cuda"))
    assert torch.isfinite(out.d_loss) and torch.isfinite(out.g_loss)
    assert all(p.dtype == torch.float32 for p in s.generator.parameters())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_without_a_gpu_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from counterfeit.cli import main

    assert main(["train", "--preset", "tiny", "--device", "cuda", "--out", str(tmp_path / "run")]) == 2
    assert "device: cuda" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


SMALL_CONV = {"g_hidden": "16,8", "d_hidden": "8,16", "z_dim": "8", "batch_size": "16"}


@cuda
@pytest.mark.parametrize("preset", ["dcgan", "cdcgan"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_conv_presets_train_on_cuda_with_in_training_evaluation(preset: str, precision: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from counterfeit.train import watch

    monkeypatch.setattr(watch, "EVAL_N", 500)
    config = resolve(preset=preset, overrides={**SMALL_CONV, "device": "cuda", "precision": precision, "steps": "12",
                                               "eval_every": "6", "log_every": "3", "sample_every": "6"})
    run = train(config, out=tmp_path / "run", quiet=True)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "fid" in r]
    assert [r["step"] for r in evals] == [6, 12] and all(math.isfinite(r["fid"]) for r in evals)
    assert all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in records if "d_loss" in r)
    assert f'precision = "{precision}"' in (run / "config.toml").read_text()


@cuda
def test_a_gpu_run_samples_and_evaluates_on_a_machine_without_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Weights are written from the GPU; a CPU-only machine must read the run all the same, and
    say in one line why it cannot continue it."""
    from counterfeit.cli import main

    config = resolve(preset="dcgan", overrides={**SMALL_CONV, "device": "auto", "precision": "fp32", "steps": "8",
                                                "checkpoint_every": "4", "eval_every": "0"})
    run = train(config, out=tmp_path / "run", quiet=True)
    assert 'device = "cuda:0"' in (run / "config.toml").read_text()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["sample", str(run), "-n", "16", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["eval", str(run), "-n", "500", "--json"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "10", "--quiet"]) == 2
    assert "was written on cuda, this resume would run on cpu" in capsys.readouterr().err
