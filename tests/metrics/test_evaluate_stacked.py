"""Stacked MNIST's floor: the mode metrics of fresh real stacked images, computed once and cached."""

from __future__ import annotations

import json

import numpy as np
import pytest

from counterfeit.data.loading import load_dataset
from counterfeit.data.stacked import stacked_mnist
from counterfeit.errors import UserError
from counterfeit.metrics import evaluate
from counterfeit.metrics.evaluator import load_evaluator
from counterfeit.seeds import Stream, stream_seed


def test_floor_is_fresh_real_images_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    dataset, evaluator = load_dataset("stacked-mnist", seed=4), load_evaluator()
    drawn: list[int] = []
    real_draw = evaluate.stacked_mnist
    monkeypatch.setattr(evaluate, "stacked_mnist", lambda seed, n: drawn.append(seed) or real_draw(seed, n))
    first = evaluate.real_data(dataset, evaluator, 400, seed=4)
    assert drawn == [stream_seed(4, Stream.STACKED_FLOOR)]  # not the training images' stream
    assert first.floor_source == f"fresh real stacked images (seed {stream_seed(4, Stream.STACKED_FLOOR)})"
    assert first.reference is None and first.n_floor == 400 and set(first.floor) == {"modes_covered", "mode_kl", "channel_kl", "unclear_reads"}
    # 400 draws of 1,000 modes: about 1000 (1 - e^-0.4) = 330 distinct, less the evaluator's misreads
    assert 280 < first.floor["modes_covered"] <= 400
    again = evaluate.real_data(dataset, evaluator, 400, seed=4)
    assert drawn == [stream_seed(4, Stream.STACKED_FLOOR)] and again.floor == first.floor  # from the cache
    floor_images = stacked_mnist(stream_seed(4, Stream.STACKED_FLOOR), 400).images
    assert not np.array_equal(floor_images, dataset.images[:400])


def test_stacked_samples_against_grey_data_is_an_error() -> None:
    with pytest.raises(UserError, match="3-channel images cannot be judged against the 1-channel"):
        evaluate.evaluate_images(np.zeros((30, 3, 28, 28), np.uint8), "samples.npz", load_dataset(None))



@pytest.mark.parametrize("data, dropped", [("stacked-mnist", "channel_kl"), (None, "diversity")])
def test_a_cached_floor_missing_a_metric_is_computed_again(data: str | None, dropped: str) -> None:
    """A floor cached before a metric existed must not reach a table without that metric's floor."""
    dataset, evaluator = load_dataset(data, seed=5), load_evaluator()
    first = evaluate.real_data(dataset, evaluator, 300, seed=5)
    path = (evaluate.cache.cache_path("stacked-floor", evaluator.sha256, 300, stream_seed(5, Stream.STACKED_FLOOR))
            if data else evaluate.cache.cache_path("real", dataset.fingerprint, evaluator.sha256, 300))
    arrays = dict(np.load(path))
    older = {k: v for k, v in first.floor.items() if k != dropped}  # as a version before `dropped` wrote it
    np.savez(path, **{**arrays, "floor": np.array(json.dumps(older))})
    again = evaluate.real_data(dataset, evaluator, 300, seed=5)
    assert set(again.floor) == set(first.floor) and again.floor[dropped] == pytest.approx(first.floor[dropped])
    assert dropped in json.loads(str(np.load(path)["floor"]))  # stored over the old entry
