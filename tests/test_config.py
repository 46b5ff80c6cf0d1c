from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from counterfeit.config import (FIELD_NAMES, KEYS, Config, ConfigError, NameList, OneOf, Range, annotated_toml,
                                parse_set, preset_names, resolve, to_toml)
from counterfeit.rundir import load_run_config
from counterfeit.seeds import MAX_RANKS, SEED_LIMIT, Stream, rank_seed, stream_seed


def test_every_preset_resolves_and_lists_every_key() -> None:
    for name in preset_names():
        config = resolve(preset=name)
        assert config.preset == name
        text = Path(__file__).parents[1].joinpath("src/counterfeit/presets", f"{name}.toml").read_text()
        keys = set(tomllib.loads(text)) - {"description"}
        assert keys == set(FIELD_NAMES) - {"preset"}, f"{name}.toml must spell out every key"


def test_mlp2_preset_is_the_tutorial() -> None:
    c = resolve(preset="mlp2")
    assert (c.z_dim, c.prior, c.g_hidden, c.d_hidden, c.g_output) == (128, "uniform", (256,), (128,), "sigmoid")
    assert (c.lr_d, c.lr_g, c.batch_size, c.steps, c.log_every, c.sample_every) == (5e-4, 1e-4, 256, 20000, 100, 2000)
    assert c.loss == "nonsaturating" and c.init == "tf-truncated-normal" and c.pixel_range == (0.0, 1.0)


def test_set_overrides_are_typed() -> None:
    c = resolve(preset="mlp2", overrides=parse_set(["g_hidden=256,512,1024", "lr_g=2e-4", "betas=0.5,0.999",
                                                    "prior=normal", "steps=7"]))
    assert c.g_hidden == (256, 512, 1024) and c.lr_g == 2e-4 and c.betas == (0.5, 0.999)
    assert c.prior == "normal" and c.steps == 7


@pytest.mark.parametrize("item, phrase", [
    ("nope=1", "unknown config key 'nope'"),
    ("lr_gg=1", "did you mean 'lr_g'"),
    ("steps", "expected key=value"),
])
def test_bad_set_items(item: str, phrase: str) -> None:
    with pytest.raises(ConfigError, match=phrase):
        parse_set([item])


@pytest.mark.parametrize("overrides, phrase", [
    ({"steps": "0"}, "steps must be positive"),
    ({"batch_size": "-3"}, "batch_size must be positive"),
    ({"steps": "ten"}, "cannot parse 'ten'"),
    ({"steps": "1.5"}, "expected an integer"),
    ({"prior": "cauchy"}, "prior must be one of uniform, normal, sphere, got 'cauchy'"),
    ({"betas": "0.5"}, "expected 2 values"),
    ({"d_dropout": "1.0"}, r"d_dropout must be in \[0, 1\), got 1.0"),
    ({"g_hidden": "64,0"}, r"g_hidden must list one or more values, each positive, got \[64, 0\]"),
    ({"g_hidden": ""}, "g_hidden must list one or more values"),
    ({"seed": "-1"}, r"seed must be in \[0, 3270964224\), got -1"),
    ({"seed": "4294967296"}, r"seed must be in \[0, 3270964224\)"),
    ({"d_mbstd": "true", "batch_size": "30"}, "batch_size 30 must be a multiple of d_mbstd_group 4"),
    ({"d_mbstd": "true", "d_mbstd_group": "3"}, "batch_size 256 must be a multiple of d_mbstd_group 3"),
    ({"lr_g": "inf"}, "lr_g must be finite and positive, got inf"),  # nan was refused, inf trained to a NaN loss
    ({"max_seconds": "inf"}, "max_seconds must be finite and 0 or more, got inf"),
    ({"betas": "0.5,inf"}, r"betas must list one or more values, each in \[0, 1\)"),
    ({"data": ""}, "data must name a dataset, a folder or a file, got ''"),  # was read as the current directory
    ({"preset": "tiny"}, "--set preset=tiny: the preset is chosen with --preset"),  # it relabelled mlp2's values
    ({"epochs": "1", "steps": "5"}, "--set: steps and epochs = 1 are both given"),  # the steps were dropped
])
def test_bad_values_name_the_key(overrides: dict[str, str], phrase: str) -> None:
    with pytest.raises(ConfigError, match=phrase):
        resolve(preset="mlp2", overrides=overrides)


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'mlp9'"):
        resolve(preset="mlp9")


def test_config_file_over_preset(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    path.write_text('preset = "tiny"\nsteps = 11\n')
    c = resolve(config_file=path)
    assert c.preset == "tiny" and c.steps == 11 and c.z_dim == resolve(preset="tiny").z_dim


@pytest.mark.parametrize("text, phrase", [("steps = = 3", "invalid TOML"), ("colour = 1", "unknown config key"),
                                          ('steps = "many"', "cannot parse"),
                                          ('preset = "mlp9"', "preset: unknown preset 'mlp9'"),
                                          ("preset = 5", "preset: unknown preset 5")])
def test_bad_config_files(tmp_path: Path, text: str, phrase: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=phrase) as info:
        resolve(config_file=path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_files_preset_and_another_given_disagree(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    path.write_text('preset = "dcgan"\nsteps = 7\n')  # was tiny's values labelled dcgan
    with pytest.raises(ConfigError, match=f"{path}: preset = 'dcgan', but --preset tiny: give one of them"):
        resolve(preset="tiny", config_file=path)
    assert resolve(preset="dcgan", config_file=path).model == "dcgan"


def test_an_int_too_large_for_a_float_is_no_traceback() -> None:
    assert resolve(preset="tiny", overrides={"steps": "1" + "0" * 400}).steps == 10**400  # was OverflowError


def test_epochs_zero_beside_steps_is_no_conflict() -> None:
    assert resolve(preset="mlp4", overrides={"epochs": "0", "steps": "5"}).steps == 5


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        resolve(config_file=tmp_path / "absent.toml")


def test_saved_config_round_trips(tmp_path: Path) -> None:
    config = resolve(preset="mlp2", overrides={"g_hidden": "64,64", "betas": "0.5,0.99"})
    (tmp_path / "config.toml").write_text(to_toml(config, {"torch": "x"}))
    assert load_run_config(tmp_path) == config


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Config().steps = 3  # type: ignore[misc]


def test_control_characters_round_trip(tmp_path: Path) -> None:
    # The hand-written writer left \x01 raw, which TOML forbids: config.toml did not parse back.
    config = resolve(preset="tiny", overrides={"data": "runs/odd\x01name\t\"quoted\"\\.npz"})
    (tmp_path / "config.toml").write_text(to_toml(config, {"command": ["counterfeit", "train", "--data", "\x01"]}))
    assert load_run_config(tmp_path) == config
    assert tomllib.loads((tmp_path / "config.toml").read_text())["run"]["command"][-1] == "\x01"


def test_every_key_has_a_one_line_meaning() -> None:
    assert list(KEYS) == list(FIELD_NAMES)
    assert all(spec.meaning and "\n" not in spec.describe() for spec in KEYS.values())


def _outside(check: OneOf | Range | NameList) -> object:
    if isinstance(check, OneOf):
        return "nope"
    if isinstance(check, NameList):
        return f"{check.choices[0]},nope"  # one allowed name does not excuse an unknown one
    return check.high if check.high is not None else (check.low if check.open_low else check.low - 1)


@pytest.mark.parametrize("name", [name for name, spec in KEYS.items() if spec.check is not None])
def test_validation_is_the_table(name: str) -> None:
    spec = KEYS[name]
    bad = _outside(spec.check)
    value = (bad, bad) if isinstance(getattr(Config(), name), tuple) else bad
    with pytest.raises(ConfigError, match=f"{name} must ") as info:
        resolve(preset="tiny", overrides={name: value})
    assert str(spec.check) in str(info.value)


def test_seed_range_keeps_every_derived_seed_valid() -> None:
    # A run seeds numpy and torch with every stream's seed and, per torchrun rank, a rank seed;
    # numpy takes seeds below 2**32 only.
    largest = resolve(preset="tiny", overrides={"seed": SEED_LIMIT - 1}).seed
    for derived in (*(stream_seed(largest, stream) for stream in Stream), rank_seed(largest, MAX_RANKS - 1)):
        np.random.RandomState(derived)
        torch.Generator().manual_seed(derived)
    with pytest.raises(ValueError, match="Seed must be between"):
        np.random.RandomState(2**32)  # what --seed 4294967296 hit


def test_annotated_toml_names_every_key_and_reads_back(tmp_path: Path) -> None:
    config = resolve(preset="dcgan", overrides={"lr_g": "3e-4", "data": "my \"digits\".npz"})
    text = annotated_toml(config)
    lines = text.splitlines()
    assert [line.split(" = ")[0] for line in lines] == list(FIELD_NAMES)
    assert all(line.endswith(KEYS[line.split(" = ")[0]].describe()) for line in lines)
    assert "betas = [0.5, 0.999]" in text
    (tmp_path / "shown.toml").write_text(text)
    assert resolve(config_file=tmp_path / "shown.toml") == config


def test_a_path_object_is_a_path_string() -> None:
    assert resolve(preset="tiny", overrides={"data": Path("digits") / "x.npz"}).data == str(Path("digits/x.npz"))
