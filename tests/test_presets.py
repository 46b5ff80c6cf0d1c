"""Every preset: listed by `counterfeit presets`, copyable as TOML, and trains a few steps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from counterfeit.cli import main
from counterfeit.rundir import load_run_config
from counterfeit.config import preset_names, resolve
from counterfeit.train.loop import train

PRESETS_DIR = Path(__file__).parents[1] / "src/counterfeit/presets"


def test_every_preset_has_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"mlp2", "mlp4", "dcgan", "tiny"} <= set(preset_names())
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == preset_names()
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines)


@pytest.mark.parametrize("name", preset_names())
def test_preset_trains_a_few_steps_from_a_copied_file(name: str, tmp_path: Path) -> None:
    copy = tmp_path / "my.toml"
    shutil.copy(PRESETS_DIR / f"{name}.toml", copy)
    overrides = {"steps": "2", "batch_size": "8", "grid_size": "4", "log_every": "1"}
    config = resolve(config_file=copy, overrides=overrides)
    assert config.replace(preset=name) == resolve(preset=name, overrides=overrides)  # the file is the preset
    run = train(config, out=tmp_path / "run", quiet=True)
    assert (run / "generator.safetensors").is_file() and load_run_config(run).steps == 2
