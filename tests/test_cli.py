from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from counterfeit.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "counterfeit", *args], capture_output=True, text=True)


def test_presets_lists_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("mlp2 ") for line in lines)
    assert any(line.startswith("tiny ") for line in lines)


def test_sample_png_and_npz(tiny_run: Path, tmp_path: Path) -> None:
    assert main(["sample", str(tiny_run), "-n", "10", "--out", str(tmp_path / "s.png")]) == 0
    with Image.open(tmp_path / "s.png") as png:
        assert png.format == "PNG"
    assert main(["sample", str(tiny_run), "-n", "10", "--seed", "3", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8


def test_train_cli_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("train", "--preset", "tiny", "--steps", "12", "--out", str(out), "--set", "log_every=4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert (out / "generator.safetensors").is_file()
    assert "step" in result.stderr  # plain progress lines when not a terminal


@pytest.mark.parametrize("args, phrase", [
    (["train", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "--set", "colour=red"], "unknown config key 'colour'"),
    (["train", "--steps", "0"], "--steps: must be positive"),
    (["train", "--set", "batch_size=-1"], "batch_size must be positive"),
    (["train", "--config", "/nonexistent/my.toml"], "/nonexistent/my.toml: no such config file"),
    (["train", "--data", "/nonexistent/x.npz", "--preset", "tiny"], "/nonexistent/x.npz"),
    (["sample", "/nonexistent/run", "--out", "x.png"], "not a run directory"),
    (["sample", "/nonexistent/run", "--out", "x.jpg"], "expected a .png or .npz"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], phrase: str, tmp_path: Path) -> None:
    result = run_cli(*args, *(["--out", str(tmp_path / "r")] if args[0] == "train" else []))
    assert result.returncode == 2
    assert phrase in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()
