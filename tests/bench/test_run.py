from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
import torch

from counterfeit.bench import bench
from counterfeit.bench import timing
from counterfeit.bench.run import format_table
from counterfeit.bench.timing import interleave, median_ratio, time_window
from counterfeit.cli import build_parser, main
from counterfeit.config import resolve
from counterfeit.errors import UserError

KEYS = {"preset", "steps_per_s", "images_per_s", "gflops", "roofline_fraction", "gemm_floor_fraction",
        "speedup", "cpu", "cores", "threads", "torch"}


def test_bench_reports_every_figure_consistently() -> None:
    fp32, bf16 = bench([resolve(preset="tiny")], seconds=0.1, rounds=2)
    for result in (fp32, bf16):
        assert KEYS <= result.keys() and result["preset"] == "tiny"
        assert result["images_per_s"] == pytest.approx(result["steps_per_s"] * 32, rel=0.01)
        assert 0 < result["roofline_fraction"] and result["cores"] >= 1
    assert (fp32["precision"], bf16["precision"]) == ("fp32", "bf16")
    assert fp32["vs_fp32"] == 1.0 and bf16["vs_fp32"] > 0  # fp32 against itself, round by round
    assert fp32["gflop_per_step"] == bf16["gflop_per_step"]


def test_bench_figures_are_medians_and_paired_ratios(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given known per-round times: speeds from medians, fractions from medians of same-round ratios."""
    rounds = {"roofline": [0.01, 0.01, 0.02], "0/fp32/floor": [0.8, 1.6, 0.9], "0/fp32/ours": [1.0, 2.0, 1.0],
              "0/bf16/floor": [0.3, 0.6, 0.3], "0/bf16/ours": [0.5, 0.8, 0.4], "0/textbook": [1.3, 2.4, 1.4]}
    monkeypatch.setattr("counterfeit.bench.run.interleave", lambda candidates, seconds, rounds_, sync: (
        {name: rounds[name] for name in candidates}))
    result, bf16 = bench([resolve(preset="tiny")], seconds=0.1, rounds=3)
    assert bf16["vs_fp32"] == 2.5  # median(1.0 / 0.5, 2.0 / 0.8, 1.0 / 0.4)
    assert bf16["vs_fp32_floor"] == 2.0  # median(0.8 / 0.5, 1.6 / 0.8, 0.9 / 0.4): faster than fp32's products
    assert result["vs_fp32_floor"] == result["gemm_floor_fraction"]  # in float32, its own floor fraction
    assert bf16["gemm_floor_fraction"] == 0.75  # median(0.3 / 0.5, 0.6 / 0.8, 0.3 / 0.4), its own floor
    assert bf16["steps_per_s"] == 2.0  # 1 / median(0.5, 0.8, 0.4)
    assert result["steps_per_s"] == 1.0  # 1 / median(1.0, 2.0, 1.0)
    assert result["floor_steps_per_s"] == pytest.approx(1 / 0.9, abs=0.01)
    assert result["textbook_steps_per_s"] == pytest.approx(1 / 1.4, abs=0.01)
    assert result["gemm_floor_fraction"] == 0.8  # median(0.8, 0.8, 0.9); ratio of medians: 0.9
    assert result["speedup"] == 1.3  # median(1.3, 1.2, 1.4); ratio of medians: 1.4
    assert result["roofline_gflops"] == pytest.approx(2 * 1024**3 / 0.01 / 1e9, rel=1e-3)
    assert (result["device"], result["roofline_size"]) == ("cpu", 1024)


def test_interleave_gives_each_candidate_one_window_per_round() -> None:
    calls = {"a": 0, "b": 0}

    def count(name: str):
        return lambda: calls.__setitem__(name, calls[name] + 1)

    samples = interleave({"a": count("a"), "b": count("b")}, seconds=0.02, rounds=4, warmup=1)
    assert set(samples) == {"a", "b"} and all(len(v) == 4 and min(v) > 0 for v in samples.values())
    assert calls["a"] > 4 and calls["b"] > 4


def test_a_window_on_a_device_counts_the_queued_work_and_does_not_overfill_the_queue(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a GPU a call returns as soon as its work is queued. A window that watched the host clock
    alone would queue far more work than it times (the first GPU bench ran minutes over its time);
    one that waited after every call would time the launches one by one."""
    queued = {"seconds": 0.0}
    events: list[str] = []
    # the window's clock, advanced by the work itself: a real sleep oversleeps on a loaded machine
    # (CI once counted 4 calls to a window where 9 fit), and the counts below are the point
    clock = {"now": 0.0}
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=lambda: clock["now"]))

    def launch() -> None:  # returns at once (1 us of host time); its "device work" (2 ms) is paid by the next wait
        events.append("call")
        clock["now"] += 1e-6
        queued["seconds"] += 0.002

    def sync() -> None:
        events.append("sync")
        clock["now"] += queued["seconds"]
        queued["seconds"] = 0.0

    start = time.perf_counter()
    per_call = time_window(launch, 0.02, sync)
    assert time.perf_counter() - start < 0.1  # about the window twice, not the host's loop of thousands
    assert per_call == pytest.approx(0.002, rel=0.5)  # the queued work is in the figure
    assert events[:2] == ["call", "sync"] and events[-1] == "sync" and events.count("sync") == 2
    assert 1 + 5 <= events.count("call") <= 1 + 10  # one to learn the time per call, then about the window


def test_a_bench_measures_one_device(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("counterfeit.bench.run.resolve_device", lambda name: torch.device(
        "cuda" if name in ("auto", "cuda") else name))  # as on a machine with a GPU
    with pytest.raises(UserError, match="device: the configs train on cpu and cuda"):
        bench([resolve(preset="tiny"), resolve(preset="mlp2")], seconds=0.1)
    assert main(["bench", "--device", "cpu", "--set", "device=cpu", "--preset", "tiny"]) == 2
    assert "--device cpu: give either --device or --set device" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_bench_on_cuda_without_a_gpu_is_one_clear_error(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["bench", "--preset", "tiny", "--device", "cuda", "--runs", "2", "--out", str(tmp_path / "b")]) == 2
    assert "device: cuda was asked for" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()  # refused before any run


def test_ratios_pair_the_windows_of_one_round() -> None:
    """A slow round (the machine busy elsewhere) slows both candidates; pairing cancels it."""
    ours, floor = [1.0, 1.0, 3.0, 3.0, 3.0], [0.8, 0.8, 2.4, 2.4, 2.4]  # floor 0.8 of ours in every round
    assert median_ratio(floor, ours) == pytest.approx(0.8)
    assert median_ratio([2.4, 2.4, 0.8, 0.8, 0.8], ours) != pytest.approx(0.8)  # unpaired, it would not be
    with pytest.raises(ValueError):
        median_ratio([1.0], [1.0, 2.0])


def test_bench_cli_json_lists_one_object_per_config(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text('preset = "tiny"\nbatch_size = 16\n')
    assert main(["bench", "--preset", "tiny", "--config", str(config), "--seconds", "0.1", "--json",
                 "--precision", "bf16"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["preset"] for r in results] == ["tiny", "tiny"]
    assert [r["batch_size"] for r in results] == [32, 16]
    assert [r["precision"] for r in results] == ["bf16", "bf16"] and results[0]["vs_fp32"] is None
    assert results[0]["vs_fp32_floor"] is None  # no float32 floor measured to hold it against


def test_bench_cli_rejects_a_bad_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--preset", "nope", "--seconds", "0.1"]) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, phrase", [
    ("--seconds", "inf", "must be finite, got inf"),  # once accepted: a benchmark that never ends
    ("--seconds", "1e400", "must be finite, got 1e400"),  # inf by another name
    ("--seconds", "nan", "must be positive, got nan"),
    ("--seconds", "0", "must be positive, got 0"),
    ("--seconds", "-1", "must be positive, got -1"),
    ("--max-minutes", "inf", "must be finite, got inf"),  # a cap that never comes; leave it out instead
])
def test_a_time_must_be_a_finite_positive_number(option: str, value: str, phrase: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:  # parsing only: were it accepted, inf would measure forever
        build_parser().parse_args(["bench", "--preset", "mlp2", "--precision", "fp32", option, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("usage: counterfeit bench ")
    assert err.strip().splitlines()[-1] == f"counterfeit bench: error: argument {option}: {phrase}"


def test_a_self_conditioned_step_is_timed_with_its_clusters_fitted(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh run: D sorts real images into the k-means clusters, not all into cluster 0."""
    from counterfeit.bench.run import _real_images, _stepper
    from counterfeit.train.state import build_state
    from counterfeit.train.step import make_step

    config = resolve(preset="best", overrides={"g_hidden": [8, 4], "d_hidden": [4, 8], "clusters": 5,
                                                "batch_size": 16})
    state = build_state(config)
    assert not state.discriminator.centroids.any()  # unfitted: every image is nearest to cluster 0
    step = _stepper(config, state, make_step(state), _real_images(config, state.device))
    assert state.discriminator.centroids.any() and state.generator.cluster_cdf[-1] == 1.0
    clusters = state.discriminator.clusters_of(torch.rand(64, 1, 28, 28) * 2 - 1)
    assert len(clusters.unique()) > 1
    step()  # and the step runs with them
    # another stepper of the config (another precision, the textbook) gets the same fit, copied, not refitted
    from counterfeit.bench import run
    monkeypatch.setattr(run, "fit_clusters", lambda *args: pytest.fail("k-means fitted twice for one config"))
    other = build_state(config)
    _stepper(config, other, make_step(other), _real_images(config, other.device), fitted=state)
    assert torch.equal(other.discriminator.centroids, state.discriminator.centroids)
    assert torch.equal(other.generator.cluster_cdf, state.generator.cluster_cdf)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_bench_on_a_gpu_measures_everything_there() -> None:
    from counterfeit.bench.floor import step_flops

    configs = [resolve(preset=name, overrides={"device": "cuda"}) for name in ("mlp2", "dcgan")]
    rows = bench(configs, seconds=1.0, rounds=2)
    assert [(r["preset"], r["precision"]) for r in rows] == [("mlp2", "fp32"), ("mlp2", "bf16"),
                                                             ("dcgan", "fp32"), ("dcgan", "bf16")]
    for row, config in zip(rows, [configs[0], configs[0], configs[1], configs[1]]):
        assert (row["device"], row["roofline_size"]) == ("cuda", 8192) and row["cuda"]
        assert row["gflop_per_step"] == round(step_flops(config) / 1e9, 4)  # the same maths as on a CPU
        assert row["steps_per_s"] > 0 and row["textbook_steps_per_s"] > 0 and 0 < row["gemm_floor_fraction"]
    assert "measured on the GPU; sgemm roofline (8192³)" in format_table(rows)
