"""Datasets by name: found in the cache or a system-wide copy, checked by md5, named in errors.
Small generated IDX files stand in for the published ones (their md5s patched into the table)."""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import counterfeit.data.named as named
from counterfeit.config import resolve
from counterfeit.data import load_dataset
from counterfeit.errors import DataError
from counterfeit.rundir import load_run_config
from counterfeit.train.loop import train


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own: what one test downloads is absent in the next."""
    monkeypatch.setenv("COUNTERFEIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def tiny_kmnist(tmp_path: Path, idx_bytes, digits, monkeypatch: pytest.MonkeyPatch) -> Path:
    """KMNIST's four files as tiny gzipped IDX files in a folder, their md5s pinned in the table."""
    source = tmp_path / "files"
    source.mkdir()
    images, labels = digits
    for spec_file in named.KNOWN["kmnist"].files:
        array = images if "images" in spec_file.name else labels
        (source / spec_file.name).write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    files = tuple(replace(f, md5=hashlib.md5((source / f.name).read_bytes()).hexdigest())
                  for f in named.KNOWN["kmnist"].files)
    monkeypatch.setitem(named.KNOWN, "kmnist", replace(named.KNOWN["kmnist"], files=files))
    return source


def _install(source: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())


def test_the_published_table_is_complete() -> None:
    assert set(named.KNOWN) == {"mnist", "fashion-mnist", "kmnist"}
    for spec in named.KNOWN.values():
        assert [f.name for f in spec.files] == [named.TRAIN_IMAGES, named.TRAIN_LABELS,
                                                named.TEST_IMAGES, named.TEST_LABELS]
        assert all(re.fullmatch("[0-9a-f]{32}", md5) for f in spec.files for md5 in (f.md5, *f.repackaged_md5))
        assert len(spec.classes) == 10


def test_not_downloaded_names_the_download_command(empty_cache: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset("kmnist")
    message = str(error.value)
    assert "\n" not in message and message.startswith("kmnist: KMNIST is not downloaded")
    assert str(empty_cache / "datasets" / "kmnist") in message
    assert "run `counterfeit download --dataset kmnist`" in message


def test_loads_the_cached_copy_by_name(tiny_kmnist: Path, empty_cache: Path, digits) -> None:
    _install(tiny_kmnist, empty_cache / "datasets" / "kmnist")
    dataset = load_dataset("kmnist")
    np.testing.assert_array_equal(dataset.images, digits[0])
    np.testing.assert_array_equal(dataset.labels, digits[1])
    assert dataset.name == "kmnist" and dataset.classes[:2] == ("o", "ki")
    assert dataset.source.startswith("KMNIST (")


def test_a_system_wide_copy_is_found_and_may_be_repackaged(tiny_kmnist: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch, digits) -> None:
    system = tmp_path / "usr-share-datasets-kmnist"
    _install(tiny_kmnist, system)
    # As Debian's: the same IDX bytes recompressed without the name and time in the gzip header.
    recompressed = gzip.compress(gzip.decompress((system / named.TRAIN_IMAGES).read_bytes()), mtime=7)
    (system / named.TRAIN_IMAGES).write_bytes(recompressed)
    spec = named.KNOWN["kmnist"]
    images_file = replace(spec.file(named.TRAIN_IMAGES), repackaged_md5=(hashlib.md5(recompressed).hexdigest(),))
    monkeypatch.setitem(named.KNOWN, "kmnist", replace(spec, system_dirs=(str(system),),
                                                       files=(images_file, *spec.files[1:])))
    dataset = load_dataset("kmnist")
    assert str(system) in dataset.source
    np.testing.assert_array_equal(dataset.images, digits[0])


def test_a_damaged_copy_is_refused_by_md5(tiny_kmnist: Path, empty_cache: Path) -> None:
    folder = empty_cache / "datasets" / "kmnist"
    _install(tiny_kmnist, folder)
    (folder / named.TRAIN_LABELS).write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x01\x07", mtime=0))
    with pytest.raises(DataError) as error:
        load_dataset("kmnist")
    message = str(error.value)
    assert message.startswith(f"{folder / named.TRAIN_LABELS}: md5 ") and "\n" not in message
    assert "run `counterfeit download --dataset kmnist` again" in message


def test_a_published_file_given_by_path_is_recognised(tiny_kmnist: Path) -> None:
    dataset = load_dataset(tiny_kmnist / named.TEST_IMAGES)
    assert dataset.name == "kmnist" and dataset.classes is not None
    assert load_dataset(tiny_kmnist / named.TEST_IMAGES, invert=True).name is None  # no longer KMNIST


def test_cli_training_on_a_name_not_downloaded_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "counterfeit", "train", "--preset", "tiny", "--data", "kmnist",
                             "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "run `counterfeit download --dataset kmnist`" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("preset", ["dcgan", "cdcgan"])
def test_presets_train_on_a_dataset_by_name(preset: str, tiny_kmnist: Path, empty_cache: Path,
                                            tmp_path: Path) -> None:
    _install(tiny_kmnist, named.download_dir("kmnist"))
    overrides = {"data": "kmnist", "steps": "2", "batch_size": "4", "grid_size": "10", "log_every": "1",
                 "eval_every": "0", "device": "cpu"}
    run = train(resolve(preset=preset, overrides=overrides), out=tmp_path / "run", quiet=True)
    recorded = load_run_config(run)
    assert recorded.data == "kmnist" and (run / "generator.safetensors").is_file()
    assert tomllib.loads((run / "config.toml").read_text())["run"]["data_classes"][:2] == ["o", "ki"]
