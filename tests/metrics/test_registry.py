from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from counterfeit.metrics import registry


def test_every_metric_is_registered_once_in_table_order() -> None:
    assert list(registry.METRICS) == ["fid", "kid", "kid_std", "classifier_score", "precision", "recall", "density",
                                      "coverage", "classes_covered", "class_kl", "memorisation", "diversity",
                                      "modes_covered", "mode_kl", "channel_kl", "unclear_reads"]
    assert set(registry.FAST) <= set(registry.METRICS)


def test_a_computation_yielding_several_metrics_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(registry, "METRICS", {})

    @registry.registers(("a", "metric a", "higher"), ("b", "metric b", "lower"))
    def _both(sample: Any, reference: Any) -> dict[str, float]:
        calls.append(1)
        return {"a": 1.0, "b": 2.0}

    @registry.registers(("c", "metric c", "lower"))
    def _alone(sample: Any, reference: Any) -> dict[str, float]:
        return {"c": 3.0}

    grey = SimpleNamespace(channels=1)
    assert registry.compute(grey, None, ["b", "a"]) == {"a": 1.0, "b": 2.0}  # registry order
    assert calls == [1]
    assert registry.compute(grey, None) == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert registry.METRICS["b"].label == "metric b" and registry.METRICS["b"].computation is _both


def test_grey_and_stacked_samples_get_their_own_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "METRICS", {})
    registry.registers(("grey", "a grey metric", "lower"))(lambda s, r: {"grey": 1.0})
    registry.registers(("modes", "a stacked metric", "higher"), channels=3)(lambda s, r: {"modes": 2.0})
    assert registry.compute(SimpleNamespace(channels=1), None) == {"grey": 1.0}
    assert registry.compute(SimpleNamespace(channels=3), None) == {"modes": 2.0}
    assert registry.compute(SimpleNamespace(channels=3), None, ["grey", "modes"]) == {"modes": 2.0}
