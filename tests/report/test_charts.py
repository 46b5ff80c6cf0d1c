"""Chart data: curves of runs logged at other steps on one x axis, by step and by wall-clock."""

from __future__ import annotations

from pathlib import Path

from counterfeit.report.charts import Chart, Mark, RunCurves, compare_charts, curve, run_charts, run_clock
from counterfeit.report.rundata import read_run

LOSSES_A = [{"step": s, "d_loss": 1.0 / s, "g_loss": float(s), "d_real": 0.5, "d_fake": 0.5, "seconds": s / 10}
            for s in (1, 10, 20)]
LOSSES_B = [{"step": s, "d_loss": 2.0, "g_loss": 3.0, "d_real": 0.6, "d_fake": 0.4, "seconds": s / 5} for s in (5, 10)]


def test_curves_share_the_union_of_their_steps_with_gaps() -> None:
    a = curve("a", 0, [(1, 1.0), (10, 0.1), (20, 0.05)], run_clock(LOSSES_A))
    b = curve("b", 1, [(5, 2.0), (10, 2.0)], run_clock(LOSSES_B))
    axes = Chart("d_loss", "D loss", [a, b]).to_json()["axes"]
    assert axes["step"]["x"] == [1, 5, 10, 20]
    assert axes["step"]["y"] == [[1.0, None, 0.1, 0.05], [None, 2.0, 2.0, None]]
    assert axes["seconds"]["x"] == [0.1, 1.0, 2.0]  # a at 0.1, 1, 2 s; b at 1 and 2 s
    assert axes["seconds"]["y"] == [[1.0, 0.1, 0.05], [None, 2.0, 2.0]]


def test_wall_clock_of_an_evaluation_is_read_between_log_steps() -> None:
    clock = run_clock(LOSSES_A)
    assert clock is not None and clock(15) == 1.5 and clock(10) == 1.0
    assert run_clock([{"step": 1, "d_loss": 1.0}]) is None  # no time logged: no wall-clock axis


def test_a_curve_without_a_clock_leaves_the_chart_on_steps() -> None:
    chart = Chart("x", "x", [curve("a", 0, [(1, 1.0)], None), curve("b", 1, [(1, 2.0)], run_clock(LOSSES_A))])
    assert set(chart.to_json()["axes"]) == {"step"}


def test_values_json_cannot_hold_become_gaps_and_log_needs_positive_values() -> None:
    chart = Chart("fid", "FID", [curve("fid", 0, [(1, float("nan")), (2, float("inf")), (3, 3.25)], None)], log=True)
    data = chart.to_json()
    assert data["axes"]["step"]["y"] == [[None, None, 3.25]] and data["log"] is False
    assert Chart("fid", "FID", [curve("fid", 0, [(1, 300.0), (2, 80.0)], None)], log=True).to_json()["log"]


def test_marks_on_both_axes() -> None:
    chart = Chart("d_loss", "D loss", [curve("a", 0, [(1, 1.0), (20, 0.1)], run_clock(LOSSES_A))],
                  marks=[Mark(10, 1.0, "collapse: d_wins")])
    axes = chart.to_json()["axes"]
    assert axes["step"]["marks"] == [{"x": 10, "label": "collapse: d_wins"}]
    assert axes["seconds"]["marks"] == [{"x": 1.0, "label": "collapse: d_wins"}]


def test_a_run_with_evaluations(finished_run: Path) -> None:
    data = read_run(finished_run)
    floor = data.evals[-1]["floor"]
    charts = {c.key: c for c in run_charts(RunCurves(data.name, data.losses, data.evals, floor, data.signals))}
    assert list(charts) == ["d_loss", "d_real", "fid", "precision", "classes_covered", "class_kl", "diversity"]
    precision = charts["precision"]
    assert [(c.label, c.dash) for c in precision.curves] == [
        ("precision (k=3)", False), ("recall (k=3)", False),
        ("precision (k=3): real floor", True), ("recall (k=3): real floor", True)]
    assert precision.curves[2].steps == [(25, floor["precision"]), (50, floor["precision"])]
    assert precision.curves[2].color == precision.curves[0].color  # a floor in its metric's colour
    fired = [s["step"] for s in data.signals]
    assert fired and all([m.step for m in chart.marks] == fired for chart in charts.values())
    assert charts["fid"].to_json()["log"] and charts["d_real"].y_range == (0.0, 1.0)


def test_compared_runs_share_one_floor_line_per_distinct_floor() -> None:
    evals = [{"step": 10, "eval_n": 2000, "fid": 90.0}, {"step": 20, "eval_n": 2000, "fid": 80.0}]
    same = [RunCurves(name, LOSSES_A, evals, {"fid": 1.2}) for name in ("a", "b")]
    fid = next(c for c in compare_charts(same) if c.key == "fid")
    assert [c.label for c in fid.curves] == ["a", "b", "real floor"]
    assert fid.curves[2].steps == [(10, 1.2), (20, 1.2)] and fid.curves[2].seconds == [(1.0, 1.2), (2.0, 1.2)]
    other = [RunCurves("a", LOSSES_A, evals, {"fid": 1.2}), RunCurves("c", LOSSES_B, evals[:1], {"fid": 2.5})]
    fid = next(c for c in compare_charts(other) if c.key == "fid")
    assert [c.label for c in fid.curves] == ["a", "c", "real floor (a)", "real floor (c)"]
    assert [c.key for c in compare_charts(other)][:4] == ["d_loss", "g_loss", "d_real", "d_fake"]
