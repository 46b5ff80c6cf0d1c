from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image
from safetensors.torch import load_file

from counterfeit.config import read_toml, resolve
from counterfeit.rundir import load_run_config
from counterfeit.errors import UserError
from counterfeit.provenance import package_commit
from counterfeit.train.loop import train


def test_run_directory_has_every_file(tiny_run: Path) -> None:
    for name in ("config.toml", "metrics.jsonl", "progress.gif", "losses.png",
                 "generator.safetensors", "discriminator.safetensors"):
        assert (tiny_run / name).is_file(), name
    frames = sorted(p.name for p in (tiny_run / "samples").iterdir())
    assert frames == ["step_000000.png", "step_000025.png", "step_000050.png"]
    with Image.open(tiny_run / "progress.gif") as gif:
        assert gif.n_frames == 3
    assert load_run_config(tiny_run) == resolve(preset="tiny")
    assert "torch" in (tiny_run / "config.toml").read_text()


def test_metrics_log(tiny_run: Path) -> None:
    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 10, 20, 30, 40, 50]
    last = records[-1]
    assert last["images_seen"] == 50 * 32
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "seconds", "epoch"):
        assert key in last
    assert 0 <= last["d_real"] <= 1 and 0 <= last["d_fake"] <= 1


def test_same_seed_same_weights(tiny_run: Path, tmp_path: Path) -> None:
    again = train(resolve(preset="tiny"), out=tmp_path / "again", quiet=True)
    other = train(resolve(preset="tiny", overrides={"seed": "1"}), out=tmp_path / "other", quiet=True)
    assert (again / "generator.safetensors").read_bytes() == (tiny_run / "generator.safetensors").read_bytes()
    a, b = load_file(again / "generator.safetensors"), load_file(other / "generator.safetensors")
    assert any(not (a[k] == b[k]).all() for k in a)


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="is not empty and is not a run"):
        train(resolve(preset="tiny"), out=tmp_path, quiet=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_batch_larger_than_dataset(tmp_path: Path) -> None:
    import numpy as np
    np.savez(tmp_path / "few.npz", images=np.zeros((10, 28, 28), np.uint8))
    config = resolve(preset="tiny", overrides={"data": str(tmp_path / "few.npz")})
    with pytest.raises(UserError, match="batch_size: 32 exceeds the 10 images"):
        train(config, out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_more_clusters_than_images(tmp_path: Path) -> None:
    import numpy as np
    np.savez(tmp_path / "few.npz", images=np.zeros((40, 28, 28), np.uint8))
    config = resolve(preset="best", overrides={"data": str(tmp_path / "few.npz"), "batch_size": "16"})
    with pytest.raises(UserError, match="clusters: 200 exceeds the 40 images"):  # was k-means' ValueError, mid-run
        train(config, out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_run_records_its_command_commit_and_duration(tiny_run: Path) -> None:
    run_info = read_toml(tiny_run / "config.toml")["run"]
    assert run_info["command"] == sys.argv  # the fixture trained in this process
    assert run_info.get("commit") == package_commit()  # present when the package is a git checkout
    last_log = json.loads((tiny_run / "metrics.jsonl").read_text().splitlines()[-1])
    assert run_info["duration_seconds"] >= last_log["seconds"] > 0  # the same clock, read after the final files


def test_a_relative_data_path_is_recorded_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    (tmp_path / "a").mkdir()
    np.savez(tmp_path / "a" / "few.npz", images=np.zeros((40, 28, 28), np.uint8))
    monkeypatch.chdir(tmp_path / "a")
    run = train(resolve(preset="tiny", overrides={"data": "few.npz", "steps": 2}), out="run", quiet=True)
    assert load_run_config(tmp_path / "a" / run).data == str(tmp_path / "a" / "few.npz")
    assert read_toml(tmp_path / "a" / run / "config.toml")["run"]["data_source"] == str(tmp_path / "a" / "few.npz")
