"""`bench --summarize`: medians and ranges over repeated `bench --json` runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from counterfeit.bench.summary import format_summary, read_runs, summarize
from counterfeit.cli import main
from counterfeit.errors import UserError

MACHINE = {"cpu": "AMD EPYC", "cpu_vendor": "AuthenticAMD", "cpu_features": ["AVX-512"], "torch": "2.13.0+cpu",
           "threads": 2, "cuda": None}


def row(preset: str, precision: str, fraction: float, steps: float, vs_fp32: float | None = 1.0,
        **machine: object) -> dict[str, object]:
    return {"preset": preset, "precision": precision, "gflop_per_step": 0.77 if preset == "mlp2" else 3.19,
            "steps_per_s": steps, "floor_steps_per_s": steps / fraction, "gemm_floor_fraction": fraction,
            "textbook_steps_per_s": 150.0, "speedup": steps / 150.0, "vs_fp32": vs_fp32,
            "roofline_gflops": 440.0, "load_1min": 1.9, **MACHINE, **machine}


def write(tmp_path: Path, name: str, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(rows))
    return path


def test_each_figure_is_the_median_and_range_over_runs_of_its_own_row(tmp_path: Path) -> None:
    fractions = [0.70, 0.78, 0.75]
    paths = [write(tmp_path, f"run{i}.json", [row("mlp2", "fp32", f, 300.0 + i), row("mlp4", "fp32", f + 0.1, 75.0, None)])
             for i, f in enumerate(fractions)]
    summary = summarize(read_runs(paths), paths)
    mlp2, mlp4 = summary["results"]
    assert (mlp2["preset"], mlp2["runs"], summary["runs"]) == ("mlp2", 3, 3)
    assert mlp2["gemm_floor_fraction"] == {"median": 0.75, "min": 0.70, "max": 0.78}
    assert mlp2["steps_per_s"] == {"median": 301.0, "min": 300.0, "max": 302.0}
    assert mlp4["gemm_floor_fraction"]["median"] == pytest.approx(0.85)  # mlp4's own rows, not mlp2's
    assert mlp4["vs_fp32"] is None  # not measured in any run: an empty cell, not a zero
    table = format_summary(summary)
    assert "| mlp2 | fp32 | 301.0 (300.0–302.0) |" in table and "| 0.750 (0.700–0.780) |" in table
    assert table.splitlines()[0].startswith("3 runs on AMD EPYC (AuthenticAMD; AVX-512), 2 torch threads")


def test_runs_made_before_vs_fp32_floor_existed_still_summarise(tmp_path: Path) -> None:
    old = write(tmp_path, "old.json", [row("mlp2", "bf16", 0.7, 400.0)])  # no "vs_fp32_floor" key
    new = write(tmp_path, "new.json", [{**row("mlp2", "bf16", 0.7, 420.0), "vs_fp32_floor": 1.08}])
    summary = summarize(read_runs([old, new]), [old, new])
    assert summary["results"][0]["vs_fp32_floor"] == {"median": 1.08, "min": 1.08, "max": 1.08}  # the run that has it
    assert summarize(read_runs([old]), [old])["results"][0]["vs_fp32_floor"] is None


def test_runs_from_another_cpu_or_torch_are_refused(tmp_path: Path) -> None:
    first = write(tmp_path, "amd.json", [row("mlp2", "fp32", 0.7, 300.0)])
    intel = write(tmp_path, "intel.json", [row("mlp2", "fp32", 0.6, 220.0, cpu="Intel Xeon", cpu_vendor="GenuineIntel")])
    with pytest.raises(UserError, match="intel.json: measured with cpu 'Intel Xeon'"):
        summarize(read_runs([first, intel]), [first, intel])
    newer = write(tmp_path, "newer.json", [row("mlp2", "fp32", 0.7, 300.0, torch="2.14.0")])
    with pytest.raises(UserError, match="newer.json: measured with torch"):
        summarize(read_runs([first, newer]), [first, newer])


def test_runs_made_before_bench_named_its_device_count_as_cpu_runs(tmp_path: Path) -> None:
    old = write(tmp_path, "old.json", [row("mlp2", "fp32", 0.7, 300.0)])  # no "device" key
    cpu = write(tmp_path, "cpu.json", [row("mlp2", "fp32", 0.8, 310.0, device="cpu")])
    summary = summarize(read_runs([old, cpu]), [old, cpu])
    assert summary["device"] == "cpu" and summary["results"][0]["gemm_floor_fraction"]["median"] == pytest.approx(0.75)
    gpu = write(tmp_path, "gpu.json", [row("mlp2", "fp32", 0.5, 900.0, device="cuda", cuda="NVIDIA H200")])
    with pytest.raises(UserError, match="gpu.json: measured with cuda 'NVIDIA H200'"):
        summarize(read_runs([old, gpu]), [old, gpu])
    assert "NVIDIA H200 (measured on the GPU)" in format_summary(summarize(read_runs([gpu]), [gpu]))


@pytest.mark.parametrize("text, phrase", [
    ("{not json", "not readable as JSON"),
    ('{"preset": "mlp2"}', "not the output of `counterfeit bench --json`"),
    ("[]", "not the output of `counterfeit bench --json`"),
    ('[{"preset": "mlp2", "precision": "fp32"}]', "not the output of `counterfeit bench --json`"),
])
def test_a_file_that_is_not_bench_output_is_named(tmp_path: Path, text: str, phrase: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UserError, match=f"bad.json: {phrase}"):
        read_runs([path])


@pytest.mark.parametrize("key, value, kind", [
    ("steps_per_s", "fast", "a finite number"),  # once a traceback from the table's number format
    ("gemm_floor_fraction", True, "a finite number"),  # a bool is no number
    ("floor_steps_per_s", None, "a finite number"),  # null only where bench writes it
    ("speedup", [2.0], "a finite number"),
    ("textbook_steps_per_s", float("nan"), "a finite number"),  # Python's json writes and reads NaN
    ("vs_fp32", float("inf"), "a finite number"),
    ("gflop_per_step", "0.77", "a finite number"),
    ("roofline_gflops", {}, "a finite number"),
    ("load_1min", "low", "a finite number"),
    ("threads", 2.0, "a positive integer"),
    ("threads", True, "a positive integer"),
    ("preset", 2, "a string"),
    ("cuda", False, "a string"),
    ("cpu_features", "AVX-512", "a list of strings"),
])
def test_a_field_of_the_wrong_type_is_named(tmp_path: Path, key: str, value: object, kind: str) -> None:
    rows = [row("mlp2", "fp32", 0.7, 300.0), {**row("mlp4", "fp32", 0.8, 75.0), key: value}]
    path = write(tmp_path, "bad.json", rows)
    with pytest.raises(UserError, match=f"bad.json: not the output of `counterfeit bench --json` "
                                        rf"\(result 2: {key} is .+, not {kind}\)$"):
        read_runs([path])


def test_nulls_that_bench_itself_writes_still_summarise(tmp_path: Path) -> None:
    """cuda without a GPU, vs_fp32 without fp32, load_1min where the OS has no load average."""
    unloaded = write(tmp_path, "a.json", [row("mlp2", "bf16", 0.7, 300.0, vs_fp32=None, load_1min=None)])
    loaded = write(tmp_path, "b.json", [row("mlp2", "bf16", 0.8, 310.0, vs_fp32=None, load_1min=1.5)])
    table = format_summary(summarize(read_runs([unloaded, loaded])))
    assert table.splitlines()[0].endswith("1-min load 1.5–1.5")
    assert format_summary(summarize(read_runs([unloaded]))).splitlines()[0].endswith("GFLOP/s")


def test_a_real_bench_output_with_a_wrong_field_is_one_line_exit_2(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    real = json.loads((Path(__file__).parents[2] / "docs/bench/2026-11-30-run1.json").read_text())
    path = write(tmp_path, "m2.json", [real[0], {**real[1], "steps_per_s": "fast"}])
    assert main(["bench", "--summarize", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: not the output of `counterfeit bench --json` (result 2: steps_per_s is \"fast\"" in err


def test_the_cli_prints_the_table_or_json_and_refuses_to_measure_beside_it(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(write(tmp_path, f"run{i}.json", [row("mlp4", "fp32", 0.8 + i / 100, 75.0)])) for i in range(3)]
    assert main(["bench", "--summarize", *paths]) == 0
    assert "| mlp4 | fp32 | 75.0 (75.0–75.0) |" in capsys.readouterr().out
    assert main(["bench", "--summarize", *paths, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["gemm_floor_fraction"]["median"] == pytest.approx(0.81)
    assert main(["bench", "--summarize", *paths, "--preset", "mlp2"]) == 2
    assert "--preset: cannot be combined with --summarize" in capsys.readouterr().err
    assert main(["bench", "--summarize", str(tmp_path / "missing.json")]) == 2
    assert "missing.json: no such file" in capsys.readouterr().err
