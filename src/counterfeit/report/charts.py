"""Chart data for the report's JavaScript: curves aligned on one x axis, by step and by wall-clock.

A chart is plain JSON: its series (label, colour index, dashed or not) and, for each x axis, the
sorted x values, one list of y values per series (None where a series has no point: the charts
draw across such gaps) and vertical marks (collapse warnings). Runs logged at other steps share
a chart this way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from counterfeit.metrics.registry import METRICS
from counterfeit.viz.metric_plots import PANELS

Records = Sequence[dict[str, Any]]
Clock = Callable[[float], float]  # step -> seconds since the run began
Points = list[tuple[float, float]]

# The in-training metrics, grouped as metrics.png groups them; conditional runs add their accuracy.
METRIC_PANELS = (*PANELS, ("conditional accuracy (the evaluator reads the digit asked for)",
                           ("cond_accuracy", "cond_accuracy_min"), False))
LOSS_PANELS = (("D and G loss", ("d_loss", "g_loss")), ("mean D(x) and D(G(z))", ("d_real", "d_fake")))
LABELS = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))",
          "cond_accuracy": "accuracy", "cond_accuracy_min": "worst digit"}
NOT_METRICS = ("step", "eval_n")


def label(key: str) -> str:
    return LABELS.get(key) or (METRICS[key].label_for()[0].strip() if key in METRICS else key)


@dataclass(frozen=True)
class Curve:
    label: str
    color: int  # index into the page's palette
    steps: Points  # (step, y)
    seconds: Points | None  # (seconds, y); None where the run logged no time
    dash: bool = False


@dataclass(frozen=True)
class Mark:
    step: float
    seconds: float | None
    label: str


@dataclass
class Chart:
    key: str
    title: str
    curves: list[Curve]
    log: bool = False
    y_range: tuple[float, float] | None = None
    marks: list[Mark] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        axes = {"step": _axis([c.steps for c in self.curves], [(m.step, m.label) for m in self.marks])}
        if all(c.seconds is not None for c in self.curves):
            axes["seconds"] = _axis([c.seconds or [] for c in self.curves],
                                    [(m.seconds, m.label) for m in self.marks if m.seconds is not None])
        return {"id": f"chart-{self.key}", "title": self.title, "kind": "lines",
                "log": self.log and _positive(self.curves),
                "yrange": list(self.y_range) if self.y_range else None,
                "series": [{"label": c.label, "color": c.color, "dash": c.dash} for c in self.curves],
                "axes": axes}


def _axis(curves: Sequence[Points], marks: Sequence[tuple[float, str]]) -> dict[str, Any]:
    """The union of the curves' x values, sorted, and each curve's y on it."""
    tables = [{_number(x): y for x, y in points} for points in curves]
    xs = sorted(set().union(*tables)) if tables else []
    return {"x": xs, "y": [[_number(table.get(x)) for x in xs] for table in tables],
            "marks": [{"x": _number(x), "label": text} for x, text in marks]}


def _number(value: float | None) -> float | None:
    """JSON has no NaN or Inf; six significant digits are more than a chart can show."""
    if value is None or not math.isfinite(value):
        return None
    return value if isinstance(value, int) else float(f"{value:.6g}")


def _positive(curves: Sequence[Curve]) -> bool:
    """A log axis only where every value is above 0 (0 has no logarithm)."""
    return all(y > 0 for curve in curves for _, y in curve.steps)


def run_clock(losses: Records) -> Clock | None:
    """Step -> seconds, from the loss records (evaluations log no time of their own)."""
    pairs = sorted((r["step"], r["seconds"]) for r in losses if isinstance(r.get("seconds"), (int, float)))
    if not pairs:
        return None
    steps, seconds = np.array(pairs, dtype=float).T
    return lambda step: float(np.interp(step, steps, seconds))


def curve(name: str, color: int, steps: Points, clock: Clock | None, dash: bool = False) -> Curve:
    seconds = None if clock is None else [(clock(step), y) for step, y in steps]
    return Curve(name, color, steps, seconds, dash)


def points(records: Records, key: str) -> Points:
    return [(r["step"], r[key]) for r in records if _is_number(r.get(key))]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class RunCurves:
    """What one run gives the charts."""

    name: str
    losses: Records
    evals: Records
    floor: dict[str, float]  # the real-data floor of each in-training metric
    signals: Records = ()

    @property
    def clock(self) -> Clock | None:
        return run_clock(self.losses)


def run_charts(run: RunCurves) -> list[Chart]:
    """One run: D and G loss, D(x) and D(G(z)), then the panels of metrics.png, each metric with
    its floor dashed in its colour; collapse warnings marked where they fired."""
    clock = run.clock
    charts = [Chart(keys[0], title, [curve(label(k), i, points(run.losses, k), clock) for i, k in enumerate(keys)])
              for title, keys in LOSS_PANELS]
    charts[1].y_range = (0.0, 1.0)
    steps = [r["step"] for r in run.evals]
    for title, keys, log in _panels(metric_keys([run])):
        curves = [curve(label(k), i, points(run.evals, k), clock) for i, k in enumerate(keys)]
        curves += [curve(f"{label(k)}: real floor", i, [(s, run.floor[k]) for s in steps], clock, dash=True)
                   for i, k in enumerate(keys) if k in run.floor]
        charts.append(Chart(keys[0], title, curves, log=log))
    marks = [Mark(s["step"], clock(s["step"]) if clock else None, f"collapse: {s['collapse']}")
             for s in run.signals]
    for chart in charts:
        chart.marks = marks
    return _with_data(charts)


def compare_charts(runs: Sequence[RunCurves]) -> list[Chart]:
    """Several runs: one chart per quantity, a curve per run (colour i for run i); floors dashed."""
    clocks = [run.clock for run in runs]
    charts = [Chart(key, label(key), [curve(run.name, i, points(run.losses, key), clock)
                                      for i, (run, clock) in enumerate(zip(runs, clocks))],
                    y_range=(0.0, 1.0) if key in ("d_real", "d_fake") else None)
              for _, keys in LOSS_PANELS for key in keys]
    for _, keys, log in _panels(metric_keys(runs)):
        for key in keys:
            curves = [curve(run.name, i, points(run.evals, key), clock)
                      for i, (run, clock) in enumerate(zip(runs, clocks))]
            charts.append(Chart(key, label(key), curves + _floor_curves(runs, clocks, key), log=log))
    return _with_data(charts)


def _with_data(charts: list[Chart]) -> list[Chart]:
    """A run that has logged nothing yet gets no empty frames."""
    return [chart for chart in charts if any(c.steps for c in chart.curves)]


def _floor_curves(runs: Sequence[RunCurves], clocks: Sequence[Clock | None], key: str) -> list[Curve]:
    """A dashed line across the chart per distinct floor (runs on the same data share one)."""
    floors: dict[float, list[int]] = {}
    for i, run in enumerate(runs):
        if key in run.floor and run.evals:
            floors.setdefault(run.floor[key], []).append(i)
    lines = []
    for value, members in floors.items():
        steps = [r["step"] for i in members for r in runs[i].evals]
        times = [clocks[i](r["step"]) for i in members for r in runs[i].evals if clocks[i] is not None]
        name = "real floor" if len(floors) == 1 else f"real floor ({', '.join(runs[i].name for i in members)})"
        seconds = [(min(times), value), (max(times), value)] if len(times) == len(steps) else None
        lines.append(Curve(name, len(runs) + len(lines), [(min(steps), value), (max(steps), value)], seconds,
                           dash=True))
    return lines


def metric_keys(runs: Sequence[RunCurves]) -> list[str]:
    keys: dict[str, None] = {}
    for run in runs:
        for record in run.evals:
            keys.update((k, None) for k, v in record.items() if k not in NOT_METRICS and _is_number(v))
    return list(keys)


def _panels(present: Sequence[str]) -> list[tuple[str, tuple[str, ...], bool]]:
    """The known panels that have data, then one for each other metric logged."""
    panels = [(title, tuple(k for k in keys if k in present), log) for title, keys, log in METRIC_PANELS]
    panels = [panel for panel in panels if panel[1]]
    known = {k for _, keys, _ in panels for k in keys}
    return panels + [(label(k), (k,), False) for k in present if k not in known]


def bar_chart(key: str, title: str, bars: Curve, dots: Curve | None) -> dict[str, Any]:
    """Values per digit as bars (x = digit), a second series (the floor) as dots."""
    series = [bars] + ([dots] if dots else [])
    chart = Chart(key, title, series, y_range=(0.0, 1.0)).to_json()
    return {**chart, "kind": "bars"}
