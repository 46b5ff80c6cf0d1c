"""`bench --profile`: where our step's time goes, op by op, per step."""

from __future__ import annotations

import json

import pytest
import torch

from counterfeit.bench.profile import format_profile, profile_step
from counterfeit.cli import main
from counterfeit.config import resolve


def test_the_ops_are_ranked_by_their_time_a_step_and_account_for_all_of_it() -> None:
    result = profile_step(resolve(preset="tiny"), seconds=0.1, top=5)
    ops = result["ops"]
    assert len(ops) == 5 and result["rest"]["ops"] > 0 and result["steps"] >= 10
    assert [op["ms"] for op in ops] == sorted((op["ms"] for op in ops), reverse=True)
    assert sum(op["ms"] for op in ops) + result["rest"]["ms"] == pytest.approx(result["profiled_step_ms"])
    assert sum(op["share"] for op in ops) == pytest.approx(1 - result["rest"]["ms"] / result["profiled_step_ms"])
    assert all(op["calls"] > 0 for op in ops) and result["step_ms"] > 0
    everything = profile_step(resolve(preset="tiny"), seconds=0.1, top=1000)["ops"]
    products = [op for op in everything if op["name"].split("::")[-1] in ("mm", "addmm", "_linear_pointwise")]
    # tiny's step: G 16 -> 32 -> 784, D 784 -> 32 -> 1 (batch 32); its forward products have these inputs
    assert any(op["shapes"].startswith(("64x784, 32x784", "64x32, 784x32", "32x32, 784x32")) for op in products)


def test_the_table_names_the_step_and_warns_when_the_profiler_distorts() -> None:
    result = {"preset": "mlp2", "precision": "fp32", "steps": 300, "step_ms": 2.7, "profiled_step_ms": 3.6,
              "ops": [{"name": "aten::cat", "shapes": "", "calls": 2, "ms": 0.37, "share": 0.1},
                      {"name": "aten::mm", "shapes": "256x256, 256x128", "calls": 1, "ms": 0.1, "share": 0.03}],
              "rest": {"ops": 100, "ms": 3.13}}
    lines = format_profile(result).splitlines()
    assert lines[0] == "mlp2 fp32: 2.700 ms a step; under the profiler 3.600 ms of op time a step (300 steps profiled)"
    assert lines[2].endswith("aten::cat") and lines[3].endswith("aten::mm (256x256, 256x128)")
    assert lines[-1].startswith("note: the profiler made the ops 33% slower")
    assert not format_profile({**result, "profiled_step_ms": 2.8}).splitlines()[-1].startswith("note")


def test_cli_profiles_each_config_and_precision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--profile", "--preset", "tiny", "--seconds", "0.1", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [(r["preset"], r["precision"]) for r in results] == [("tiny", "fp32"), ("tiny", "bf16")]
    assert main(["bench", "--profile", "--preset", "tiny", "--seconds", "0.1", "--precision", "fp32"]) == 0
    assert capsys.readouterr().out.startswith("tiny fp32: ")


@pytest.mark.parametrize("extra, phrase", [
    (["--runs", "2"], "--profile: cannot be combined with --runs"),
    (["--to-quality", "cdcgan"], "--profile: cannot be combined with --runs, --summarize or --to-quality"),
    (["--out", "somewhere"], "--out somewhere: only with --to-quality or --runs"),
])
def test_cli_refuses_what_profile_cannot_do(extra: list[str], phrase: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--profile", "--preset", "tiny", *extra]) == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1


def test_cli_refuses_a_gpu_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("counterfeit.bench.run.resolve_device", lambda name: torch.device("cuda"))  # as with a GPU
    assert main(["bench", "--profile", "--preset", "tiny", "--device", "cuda"]) == 2
    assert "--profile: profiles the step on the CPU only" in capsys.readouterr().err
