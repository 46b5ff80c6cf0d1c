from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from counterfeit.cli import main
from counterfeit.config import resolve
from counterfeit.train.loop import train


def fails_with(capsys: pytest.CaptureFixture[str], args: list[str], phrase: str) -> None:
    """Exit 2 and one stderr line naming the problem (main() is what the console script runs)."""
    assert main(args) == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1, err


def grid_rows(path: Path, padding: int = 2, scale: int = 2) -> int:
    with Image.open(path) as image:
        return (image.height // scale - padding) // (28 + padding)


def test_snapshots_are_class_grids(tiny_cgan_run: Path) -> None:
    frames = sorted((tiny_cgan_run / "samples").glob("step_*.png"))
    assert [f.name for f in frames] == ["step_000000.png", "step_000002.png", "step_000004.png"]
    assert all(grid_rows(f) == 10 for f in frames)  # grid_size 20: ten rows of two


def test_digit_labels_reach_the_npz(tiny_cgan_run: Path, tmp_path: Path) -> None:
    assert main(["sample", str(tiny_cgan_run), "--digit", "7", "-n", "12", "--out", str(tmp_path / "s.npz")]) == 0
    saved = np.load(tmp_path / "s.npz")
    assert saved["images"].shape == (12, 28, 28) and saved["labels"].tolist() == [7] * 12
    assert main(["sample", str(tiny_cgan_run), "-n", "20", "--out", str(tmp_path / "b.npz")]) == 0
    assert np.bincount(np.load(tmp_path / "b.npz")["labels"]).tolist() == [2] * 10


def test_digit_all_is_one_row_per_digit(tiny_cgan_run: Path, tmp_path: Path) -> None:
    assert main(["sample", str(tiny_cgan_run), "--digit", "all", "-n", "30", "--out", str(tmp_path / "g.png")]) == 0
    assert grid_rows(tmp_path / "g.png") == 10
    assert main(["sample", str(tiny_cgan_run), "--digit", "all", "-n", "30", "--out", str(tmp_path / "g.npz")]) == 0
    assert np.load(tmp_path / "g.npz")["labels"].tolist() == [d for d in range(10) for _ in range(3)]


def test_the_digit_asked_for_changes_the_image(tiny_cgan_run: Path, tmp_path: Path) -> None:
    for d in ("1", "8"):
        assert main(["sample", str(tiny_cgan_run), "--digit", d, "-n", "4", "--out", str(tmp_path / f"{d}.npz")]) == 0
    assert not np.array_equal(np.load(tmp_path / "1.npz")["images"], np.load(tmp_path / "8.npz")["images"])


@pytest.mark.parametrize("digit", ["10", "-1", "x"])
def test_bad_digit_is_one_line_exit_2(tiny_cgan_run: Path, tmp_path: Path, digit: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("sample", "interpolate"):
        out = tmp_path / ("s.png" if command == "sample" else "w.gif")
        fails_with(capsys, [command, str(tiny_cgan_run), f"--digit={digit}", "--out", str(out)], "expected a digit 0-9")
        assert not out.exists()


def test_digit_on_an_unconditional_run_is_refused(tiny_run: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for command, name in (("sample", "s.png"), ("interpolate", "w.gif")):
        fails_with(capsys, [command, str(tiny_run), "--digit", "3", "--out", str(tmp_path / name)], "is unconditional")
        assert not (tmp_path / name).exists()


@pytest.mark.parametrize("digit, width", [(None, 10), ("4", 1)])
def test_interpolate_conditional(tiny_cgan_run: Path, tmp_path: Path, digit: str | None, width: int) -> None:
    args = ["interpolate", str(tiny_cgan_run), "--steps", "5", "--out", str(tmp_path / "w.gif")]
    assert main(args + ([] if digit is None else ["--digit", digit])) == 0
    with Image.open(tmp_path / "w.gif") as gif:
        assert gif.n_frames == 8  # 5 there, 3 back (the ends are not repeated)
        assert gif.width // 4 == 2 + width * 30  # 4x scale of a row of `width` digits


def test_interpolate_unconditional(tiny_run: Path, tmp_path: Path) -> None:
    assert main(["interpolate", str(tiny_run), "--steps", "4", "--out", str(tmp_path / "w.gif")]) == 0
    with Image.open(tmp_path / "w.gif") as gif:
        assert gif.n_frames == 6


def test_conditional_preset_on_unlabelled_data_fails_before_work(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "plain.npz", images=np.zeros((100, 28, 28), np.uint8))
    args = ["train", "--preset", "cgan", "--data", str(tmp_path / "plain.npz"), "--out", str(tmp_path / "r")]
    fails_with(capsys, args, "needs labels")
    assert not (tmp_path / "r").exists()


def test_cdcgan_trains_a_few_steps(tmp_path: Path) -> None:
    overrides = {"g_hidden": "16,8", "d_hidden": "8,16", "batch_size": "8", "steps": "3", "log_every": "1",
                 "sample_every": "3", "grid_size": "10"}
    run = train(resolve(preset="cdcgan", overrides=overrides), out=tmp_path / "run", quiet=True)
    assert (run / "generator.safetensors").is_file() and grid_rows(run / "samples" / "step_000003.png") == 10
