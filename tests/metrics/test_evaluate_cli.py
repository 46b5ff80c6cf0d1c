from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from counterfeit.data import load_dataset
from counterfeit.metrics.evaluator import weights_path
from counterfeit.metrics.registry import keys_for
from counterfeit.metrics.split import split_indices


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "counterfeit", *args], capture_output=True, text=True)


def test_eval_real_json_is_one_object_with_every_metric(metrics_cache: Path) -> None:
    result = run_cli("eval", "--real", "--n", "500", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert report["n"] == report["n_floor"] == report["n_reference"] == 500
    # MNIST data keeps the old key of the classifier score beside the new one
    assert set(report["metrics"]) == set(report["floor"]) == {*keys_for(1), "mnist_score"}
    assert report["metrics"]["mnist_score"] == report["metrics"]["classifier_score"]
    assert report["evaluator"]["name"] == "MNIST evaluator"
    assert report["evaluator"]["data"].startswith("embedded MNIST")
    assert report["floor"]["precision"] > 0.5 and report["floor"]["classes_covered"] == 10
    assert list(metrics_cache.glob("real-*.npz"))  # the floor is cached where the env var says


def test_eval_real_table_names_sample_sizes() -> None:
    result = run_cli("eval", "--real", "--n", "500")
    assert result.returncode == 0, result.stderr
    assert "500 held-out real images" in result.stdout and "500 reference images" in result.stdout
    assert "FID (MNIST evaluator)" in result.stdout


def test_eval_of_a_run_dir_writes_eval_json(tiny_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    result = run_cli("eval", str(run), "--n", "300", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert json.loads((run / "eval.json").read_text()) == printed
    assert printed["n"] == 300 and set(printed["metrics"]) == {*keys_for(1), "mnist_score"}


def test_eval_of_samples_npz_real_digits_sit_near_the_floor(tmp_path: Path) -> None:
    dataset = load_dataset(None)
    heldout = dataset.images[split_indices(len(dataset)).heldout[:400]]
    np.savez(tmp_path / "real.npz", images=heldout.astype(np.float32) / 255)  # float in [0, 1]
    np.savez(tmp_path / "one.npz", images=dataset.images[dataset.labels == 3][:400])
    real = json.loads(run_cli("eval", str(tmp_path / "real.npz"), "--n", "400", "--json").stdout)
    one = json.loads(run_cli("eval", str(tmp_path / "one.npz"), "--n", "400", "--json").stdout)
    assert real["metrics"]["fid"] == pytest.approx(real["floor"]["fid"], rel=0.01)
    assert one["metrics"]["classes_covered"] == 1 < real["metrics"]["classes_covered"]
    assert one["metrics"]["fid"] > 10 * real["metrics"]["fid"]


def tampered_copy(tmp_path: Path) -> Path:
    path = tmp_path / "evaluator.safetensors"
    data = bytearray(weights_path().read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("case", ["bad_npz", "not_images", "missing", "tampered", "both", "neither"])
def test_bad_input_is_one_line_exit_2(case: str, tmp_path: Path) -> None:
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    np.savez(tmp_path / "shape.npz", images=np.zeros((5, 10, 10), np.uint8))
    args = {
        "bad_npz": [str(tmp_path / "bad.npz")],
        "not_images": [str(tmp_path / "shape.npz")],
        "missing": [str(tmp_path / "nope.npz")],
        "tampered": ["--real", "--evaluator", str(tampered_copy(tmp_path))],
        "both": [str(tmp_path / "bad.npz"), "--real"],
        "neither": [],
    }[case]
    result = run_cli("eval", *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_evaluator_info_and_tampered_info(tmp_path: Path) -> None:
    result = run_cli("evaluator", "info")
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout and "held-out" in result.stdout
    tampered = run_cli("evaluator", "info", "--evaluator", str(tampered_copy(tmp_path)))
    assert tampered.returncode == 2 and len(tampered.stderr.strip().splitlines()) == 1
