"""curves.png draws a panel for each in-training metric the runs logged, and only those."""

from __future__ import annotations

from pathlib import Path

import pytest

from counterfeit.experiments import curves
from counterfeit.experiments.outcomes import Outcome


def evals(**metrics: float) -> list[dict]:
    return [{"step": step, "seconds": step / 10, **{k: v * step for k, v in metrics.items()}} for step in (10, 20)]


@pytest.mark.parametrize("logged, panels", [
    ({"fid": 1.0, "precision": 0.01}, ["fid", "precision"]),
    ({"modes_covered": 5.0, "mode_kl": 0.1}, ["modes_covered", "mode_kl"]),  # a stacked-mnist run
])
def test_a_panel_per_logged_metric(logged: dict[str, float], panels: list[str], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[str] = []
    real_points = curves._points
    monkeypatch.setattr(curves, "_points", lambda runs, metric: drawn.append(metric) or real_points(runs, metric))
    outcome = Outcome("a", 0, "done", evals=evals(**logged))
    assert curves.plot_curves({"experiment": "x", "eval": {"threshold": {}}}, [outcome], {"a": 8}, tmp_path / "curves.png")
    assert drawn == panels and (tmp_path / "curves.png").stat().st_size > 0
