from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from counterfeit.data import load_dataset
from counterfeit.errors import UserError
from counterfeit.metrics.evaluator import EVALUATOR_SHA256, FEATURE_DIM, load_evaluator, read_record, weights_path
from counterfeit.metrics.features import extract
from counterfeit.metrics.split import split_indices


def test_shipped_weights_match_their_record() -> None:
    evaluator = load_evaluator()
    record = read_record()
    assert evaluator.sha256 == EVALUATOR_SHA256 == record["sha256"]
    assert record["heldout_accuracy"] >= 0.985
    assert weights_path().stat().st_size < 2_000_000
    split = split_indices(len(load_dataset(None)))
    assert record["split"]["indices_sha256"] == split.digest()
    assert (record["split"]["train"], record["split"]["heldout"]) == (8000, 2000)


def test_held_out_accuracy_is_what_the_record_says() -> None:
    dataset = load_dataset(None)
    heldout = split_indices(len(dataset)).heldout
    features = extract(load_evaluator(), dataset.images[heldout])
    assert features.features.shape == (len(heldout), FEATURE_DIM)
    predicted = features.probs.argmax(dim=1).numpy()
    accuracy = float((predicted == dataset.labels[heldout]).mean())
    assert accuracy == pytest.approx(read_record()["heldout_accuracy"], abs=1e-4)


def test_split_is_disjoint_and_complete() -> None:
    split = split_indices(10_000)
    both = np.concatenate([split.train, split.heldout])
    assert len(split.heldout) == 2000 and sorted(both.tolist()) == list(range(10_000))


def test_extraction_is_batch_independent() -> None:
    images = load_dataset(None).images[:300]
    whole, batched = extract(load_evaluator(), images), extract(load_evaluator(), images, batch_size=64)
    assert torch.allclose(whole.features, batched.features, atol=1e-5)


def test_tampered_weights_are_one_clear_error(tmp_path: Path) -> None:
    tampered = tmp_path / "evaluator.safetensors"
    shutil.copy(weights_path(), tampered)
    data = bytearray(tampered.read_bytes())
    data[-1] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(UserError, match="damaged or not the shipped one") as info:
        load_evaluator(tampered)
    assert str(tampered) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UserError, match="cannot read evaluator weights"):
        load_evaluator(tmp_path / "missing.safetensors")


def test_inference_features_equal_the_trained_nets_features() -> None:
    # BatchNorm folded into the convs and ReLU moved after the max-pool: the same function.
    evaluator = load_evaluator()
    pixels = torch.from_numpy(load_dataset(None).images[:200]).float().div(255).unsqueeze(1)
    with torch.inference_mode():
        fast, reference = evaluator.features(pixels), evaluator.net.features(pixels)
    assert fast.shape == reference.shape == (200, FEATURE_DIM)
    assert torch.allclose(fast, reference, rtol=1e-5, atol=1e-5)


def test_an_output_directory_that_cannot_be_made_fails_before_training(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from counterfeit.metrics import evaluator_train

    def no_training() -> None:
        raise AssertionError("training started before the output directory was made")

    monkeypatch.setattr(evaluator_train, "load_embedded", no_training)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(UserError, match="a-file/out: cannot create directory"):
        evaluator_train.train_evaluator(tmp_path / "a-file" / "out")
