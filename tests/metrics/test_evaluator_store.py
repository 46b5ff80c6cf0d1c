"""An evaluator per dataset: trained into the cache under the data's fingerprint, picked by
`eval` and the in-training eval, refused when trained on other data, and never replaced by the
MNIST one for data that is not MNIST."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from counterfeit.cli import main
from counterfeit.config import resolve
from counterfeit.data import Dataset, load_dataset
from counterfeit.errors import UserError
from counterfeit.metrics.evaluate import evaluate_path
from counterfeit.metrics.evaluator import EVALUATOR_SHA256, RECORD_FILE, WEIGHTS_FILE
from counterfeit.metrics.evaluator_store import find_evaluator, load_stored, require_evaluator, store_dir
from counterfeit.metrics.evaluator_train import TrainSettings, train_evaluator
from counterfeit.report import build_report
from counterfeit.report.rundata import read_run
from counterfeit.train.loop import train
from counterfeit.rundir import read_metrics

PER_CLASS = 20  # 60 images: the fixed split holds 12 out, enough for every metric's floor


def shape(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A 30x40 drawing of the class, placed and shaded at random (so no two images are equal)."""
    pixels = rng.integers(0, 30, (30, 40)).astype(np.uint8)
    dx, dy, value = rng.integers(-3, 4), rng.integers(-3, 4), rng.integers(180, 256)
    if kind == "bars":
        pixels[8 + dy : 22 + dy : 4, :] = value
    elif kind == "columns":
        pixels[:, 10 + dx : 30 + dx : 4] = value
    else:
        pixels[10 + dy : 20 + dy, 15 + dx : 25 + dx] = value
    return pixels


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of PNGs in three class subfolders."""
    root = tmp_path_factory.mktemp("data") / "shapes"
    rng = np.random.default_rng(0)
    for kind in ("bars", "columns", "square"):
        (root / kind).mkdir(parents=True)
        for i in range(PER_CLASS):
            Image.fromarray(shape(kind, rng)).save(root / kind / f"{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def shapes_evaluator(shapes: Path) -> Path:
    """The folder's own evaluator, trained for a few quick epochs into the cache."""
    dataset = load_dataset(shapes)
    train_evaluator(store_dir(dataset), TrainSettings(epochs=3, batch_size=16), lambda line: None, dataset,
                    "shapes", f"counterfeit evaluator train --data {shapes}")
    return store_dir(dataset)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "counterfeit", *args], capture_output=True, text=True)


def test_mnist_digits_use_the_shipped_evaluator_and_other_data_none() -> None:
    embedded = load_dataset(None)
    assert find_evaluator(embedded).sha256 == EVALUATOR_SHA256
    some_digits = Dataset(embedded.images[:100], embedded.labels[:100], "first 100", name="mnist")
    assert find_evaluator(some_digits).sha256 == EVALUATOR_SHA256  # the full 60k MNIST is named so too
    unknown = Dataset(embedded.images[:100], embedded.labels[:100], "some.npz")
    assert find_evaluator(unknown) is None
    with pytest.raises(UserError) as error:
        require_evaluator(unknown, "counterfeit evaluator train --data some.npz")
    message = str(error.value)
    assert "\n" not in message and message.startswith("some.npz: no evaluator")
    assert message.endswith("build it with `counterfeit evaluator train --data some.npz`")


def test_a_trained_evaluator_is_stored_under_the_data_fingerprint(shapes: Path, shapes_evaluator: Path) -> None:
    dataset = load_dataset(shapes)
    record = json.loads((shapes_evaluator / RECORD_FILE).read_text())
    assert shapes_evaluator.name == dataset.fingerprint == record["data_fingerprint"]
    assert record["num_classes"] == 3 and record["classes"] == ["bars", "columns", "square"]
    assert (record["split"]["train"], record["split"]["heldout"]) == (48, 12)
    assert record["heldout_accuracy"] > 0.5  # three easy shapes; chance is 1/3
    evaluator = find_evaluator(dataset)
    assert evaluator.label == "shapes" and evaluator.sha256 == record["sha256"]

    info = run_cli("evaluator", "info", "--data", str(shapes))
    assert info.returncode == 0, info.stderr
    assert "shapes evaluator (3 classes)" in info.stdout and str(shapes_evaluator) in info.stdout
    assert "verified" in info.stdout


def test_an_evaluator_of_other_data_is_refused(shapes: Path, shapes_evaluator: Path, tmp_path: Path) -> None:
    inverted = load_dataset(shapes, invert=True)
    assert find_evaluator(inverted) is None
    shutil.copytree(shapes_evaluator, store_dir(inverted))  # as if copied by hand under another fingerprint
    try:
        with pytest.raises(UserError) as error:
            find_evaluator(inverted)
        message = str(error.value)
        assert message.startswith(f"{store_dir(inverted) / RECORD_FILE}: this evaluator was trained on data "
                                  f"with fingerprint {shapes_evaluator.name}, not {inverted.fingerprint}")
        result = run_cli("eval", "--real", "--data", str(shapes), "--invert", "--n", "12")
        assert result.returncode == 2 and result.stderr.count("\n") == 1
        assert "this evaluator was trained on data with fingerprint" in result.stderr
    finally:
        shutil.rmtree(store_dir(inverted))


def test_damaged_stored_weights_are_one_clear_error(shapes: Path, shapes_evaluator: Path, tmp_path: Path) -> None:
    dataset = load_dataset(shapes)
    copy = tmp_path / "copy"
    shutil.copytree(shapes_evaluator, copy)
    data = bytearray((copy / WEIGHTS_FILE).read_bytes())
    data[-1] ^= 0xFF
    (copy / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(UserError, match=f"not the one {copy / RECORD_FILE} describes"):
        load_stored(copy, dataset)


def test_a_record_of_the_wrong_shape_is_one_clear_error(shapes: Path, shapes_evaluator: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    dataset = load_dataset(shapes)
    copy = tmp_path / "copy"
    shutil.copytree(shapes_evaluator, copy)
    (copy / RECORD_FILE).write_text("[1, 2]")  # JSON, but not the record's object
    with pytest.raises(UserError, match=f"{copy / RECORD_FILE}: cannot read the evaluator record .*list"):
        load_stored(copy, dataset)
    record_path = shapes_evaluator / RECORD_FILE
    original = record_path.read_text()
    record = json.loads(original)
    del record["split"]  # valid otherwise: `evaluator info` used to print half and a KeyError
    record_path.write_text(json.dumps(record))
    try:
        assert main(["evaluator", "info", "--data", str(shapes)]) == 2
    finally:
        record_path.write_text(original)
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"{record_path}: incomplete evaluator record (KeyError: 'split')" in err


def test_a_label_far_beyond_the_images_is_refused_before_training(tmp_path: Path) -> None:
    from counterfeit.metrics.evaluator_train import num_classes

    np.savez(tmp_path / "few.npz", images=np.zeros((20, 28, 28), np.uint8), labels=np.array([0] * 19 + [10**9]))
    with pytest.raises(UserError, match="a label of 1000000000 for 20 images"):  # one output a class: 512 GB asked
        num_classes(load_dataset(tmp_path / "few.npz"))
    np.savez(tmp_path / "some.npz", images=np.zeros((20, 28, 28), np.uint8), labels=np.arange(20) % 12)
    assert num_classes(load_dataset(tmp_path / "some.npz")) == 12


def test_eval_without_an_evaluator_names_the_command(shapes: Path) -> None:
    result = run_cli("eval", "--real", "--data", str(shapes), "--invert")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"build it with `counterfeit evaluator train --data {shapes} --invert`" in result.stderr


TINY = {"g_hidden": "32", "d_hidden": "32", "z_dim": "8", "batch_size": "16", "steps": "4", "log_every": "2",
        "sample_every": "2", "grid_size": "20", "device": "cpu", "eval_every": "2"}


def test_a_labelled_folder_trains_a_conditional_run(shapes: Path, shapes_evaluator: Path, tmp_path: Path) -> None:
    run = train(resolve(preset="cgan", overrides={**TINY, "data": str(shapes)}), out=tmp_path / "run", quiet=True)
    assert tomllib.loads((run / "config.toml").read_text())["run"]["data_classes"] == ["bars", "columns", "square"]
    evals = [record for record in read_metrics(run) if "eval_n" in record]
    assert [record["step"] for record in evals] == [2, 4]  # the in-training eval found the folder's evaluator
    assert all("cond_accuracy" in record for record in evals)
    with pytest.raises(UserError, match="asks for each of the 10 classes a conditional model draws, and this "
                                        "data has only 3"):
        evaluate_path(run, n=12, per_class=2)


def test_eval_of_a_run_uses_its_datas_evaluator(shapes: Path, shapes_evaluator: Path, tmp_path: Path) -> None:
    run = train(resolve(preset="tiny", overrides={**TINY, "data": str(shapes)}), out=tmp_path / "run", quiet=True)
    report = evaluate_path(run, n=12)
    printed = report.to_json()
    assert printed["evaluator"]["name"] == "shapes evaluator"
    assert printed["evaluator"]["data_fingerprint"] == shapes_evaluator.name
    assert json.loads((run / "eval.json").read_text()) == json.loads(json.dumps(printed))
    assert "classifier_score" in printed["metrics"] and "mnist_score" not in printed["metrics"]
    assert "FID (shapes evaluator)" in report.table() and "MNIST" not in report.table()
    assert "higher (max 3)" in report.table()
    page = build_report(read_run(run))  # the run's page names the evaluator too
    assert "FID (shapes evaluator)" in page and "MNIST" not in page


def test_the_warning_for_unlabelled_data_asks_for_labels_not_a_command_that_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from counterfeit.train.watch import TrainingWatch

    np.savez(tmp_path / "flat.npz", images=np.random.default_rng(0).integers(0, 256, (40, 28, 28), np.uint8))
    config = resolve(preset="tiny", overrides={"data": str(tmp_path / "flat.npz"), "eval_every": "10"})
    TrainingWatch(config, load_dataset(config.data), quiet=False)
    warning = capsys.readouterr().err
    assert "so this run logs no metrics" in warning and "one is trained from labelled data" in warning
    assert "evaluator train" not in warning  # that command refuses data without labels


def test_training_on_data_without_an_evaluator_warns_once_and_logs_no_metrics(
        shapes: Path, tmp_path: Path) -> None:
    result = run_cli("train", "--preset", "tiny", "--data", str(shapes), "--set", "invert=true",
                     "--set", "eval_every=10", "--set", "batch_size=16", "--steps", "20",
                     "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: no evaluator")]
    assert len(warnings) == 1 and "so this run logs no metrics" in warnings[0]
    assert f"counterfeit evaluator train --data {shapes} --invert" in warnings[0]
    assert not [record for record in read_metrics(tmp_path / "run") if "eval_n" in record]
