from __future__ import annotations

from pathlib import Path

import pytest

import counterfeit.metrics.evaluate as evaluate
from counterfeit.data import load_dataset
from counterfeit.metrics.evaluator import load_evaluator


def test_reference_stats_are_cached_per_n(metrics_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset, evaluator = load_dataset(None), load_evaluator()
    first = evaluate.real_data(dataset, evaluator, 120)
    entries = set(metrics_cache.glob("real-*.npz"))
    assert entries

    def no_rebuild(*args: object) -> None:
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(evaluate, "build_reference", no_rebuild)
    again = evaluate.real_data(dataset, evaluator, 120)
    assert again.floor == first.floor
    assert (again.reference.sigma == first.reference.sigma).all()
    assert (again.reference.train.pixels == first.reference.train.pixels).all()
    with pytest.raises(AssertionError, match="rebuilt"):
        evaluate.real_data(dataset, evaluator, 121)  # another n is another entry
    assert not list(metrics_cache.glob(".*.tmp"))  # atomic writes leave no temp files


def test_a_corrupt_cache_entry_is_rebuilt(metrics_cache: Path) -> None:
    dataset, evaluator = load_dataset(None), load_evaluator()
    evaluate.real_data(dataset, evaluator, 130)
    newest = max(metrics_cache.glob("real-*.npz"), key=lambda p: p.stat().st_mtime)
    newest.write_bytes(b"garbage")
    assert evaluate.real_data(dataset, evaluator, 130).n_reference == 130
