"""Several runs side by side: overlaid curves (by step and by wall-clock), the final grids, the
config keys that differ and the final metrics with the best of each row marked; the same table
on the terminal. Runs of other presets, lengths or data compare; a run without metrics says so."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from counterfeit.errors import UserError
from counterfeit.metrics.registry import METRICS, MNIST_ALIASES
from counterfeit.report.charts import RunCurves, compare_charts, label
from counterfeit.report.html import axis_switch, chart_divs, esc, image, number, page, table, write_page
from counterfeit.report.page import run_floor
from counterfeit.report.rundata import RunData, read_run
from counterfeit.report.status import run_status
from counterfeit.rundir import is_run_dir

EXPERIMENT_DEPTH = 2  # an experiment directory's runs lie this many levels below it, at most
HIGHER_IS_BETTER = ("cond_accuracy", "cond_accuracy_min")


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Each path is a run directory, or an experiment directory: its runs are the run directories
    found below it (up to EXPERIMENT_DEPTH levels), in name order."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise UserError(f"{path}: no such directory")
        if not path.is_dir():
            raise UserError(f"{path}: not a directory")
        found = [path] if is_run_dir(path) else _runs_below(path, EXPERIMENT_DEPTH)
        if not found:
            raise UserError(f"{path}: not a run directory (no config.toml) and holds none "
                            f"{EXPERIMENT_DEPTH} levels down")
        runs += [run for run in found if run.resolve() not in {r.resolve() for r in runs}]
    if len(runs) < 2:
        raise UserError(f"compare needs at least two runs; {', '.join(map(str, paths))} "
                        f"{'holds' if len(paths) == 1 else 'hold'} {len(runs)}")
    return runs


def _runs_below(folder: Path, depth: int) -> list[Path]:
    if depth == 0:
        return []
    found = []
    for child in sorted(p for p in folder.iterdir() if p.is_dir()):
        found += [child] if is_run_dir(child) else _runs_below(child, depth - 1)
    return found


@dataclass(frozen=True)
class FinalMetrics:
    source: str  # where the values come from, or why there are none
    values: dict[str, float]
    judge: str = ""  # how they were measured: runs' values compare only where this is the same


def final_metrics(data: RunData) -> FinalMetrics:
    """eval.json's if the run was judged, else its last in-training evaluation."""
    if data.evaluation is not None:
        values = _current_names({k: v for k, v in data.evaluation["metrics"].items() if isinstance(v, (int, float))})
        conditional = data.evaluation.get("conditional") or {}
        values.update((k, conditional[k]) for k in HIGHER_IS_BETTER if isinstance(conditional.get(k), (int, float)))
        n, sha = data.evaluation.get("n", "?"), str(data.evaluation.get("evaluator_sha256", "?"))[:12]
        judge = f"eval.json, {n} samples, evaluator {sha}, against {data.evaluation.get('data', '?')}"
        return FinalMetrics(f"eval.json ({n} samples)", values, judge)
    if data.evals:
        last = data.evals[-1]
        values = _current_names({k: v for k, v in last.items()
                                 if k not in ("step", "eval_n") and isinstance(v, (int, float)) and not isinstance(v, bool)})
        judge = (f"in-training eval, {last.get('eval_n', '?')} samples, "
                 f"against data {data.run_info.get('data_fingerprint', '?')}")
        return FinalMetrics(f"in-training eval at step {last['step']:,}", values, judge)
    return FinalMetrics("no metrics", {})


def _current_names(values: dict[str, float]) -> dict[str, float]:
    """Each metric under its current name, once: an eval.json keeps an old name (mnist_score)
    beside the new one for older readers, and an older run has only the old name."""
    return {MNIST_ALIASES.get(k, k): v for k, v in values.items()
            if not (k in MNIST_ALIASES and MNIST_ALIASES[k] in values)}


def judged_differently(finals: Sequence[FinalMetrics]) -> str | None:
    """Why the runs' metrics do not compare, or None where every run with metrics was measured
    alike. FID and its friends move with the sample count (FID's bias falls as n grows), the
    evaluator whose features they read and the real data they are held against: a better number
    measured another way is not a better run."""
    judges = list(dict.fromkeys(final.judge for final in finals if final.values))
    if len(judges) < 2:
        return None
    counts = [sum(final.judge == judge for final in finals) for judge in judges]
    return "; ".join(f"{count} by {judge}" for count, judge in zip(counts, judges))


def best(key: str, values: Sequence[float | None]) -> set[int]:
    """Which runs hold the best value of a row (ties all marked); none where 'better' has no direction."""
    present = [(i, float(f"{v:.4g}")) for i, v in enumerate(values) if v is not None]  # ties as shown
    if len(present) < 2:
        return set()
    better = "higher" if key in HIGHER_IS_BETTER else (METRICS[key].label_for()[1] if key in METRICS else "")
    if better.startswith("lower"):
        score = {i: v for i, v in present}
    elif better.startswith("higher"):
        score = {i: -v for i, v in present}
    elif better.startswith("~1"):
        score = {i: abs(v - 1.0) for i, v in present}
    else:
        return set()
    top = min(score.values())
    return {i for i, s in score.items() if s == top}


@dataclass
class Comparison:
    runs: list[RunData]
    names: list[str]
    summary: list[tuple[str, list[str]]]  # run facts: status, steps, ...
    config: list[tuple[str, list[str]]]  # keys that differ
    metrics: list[tuple[str, list[float | None], set[int]]]  # (key, values, best runs)
    sources: list[str]
    not_ranked: str | None = None  # why no best is marked: the runs were measured differently


def compare(paths: Sequence[str | Path]) -> Comparison:
    runs = [read_run(path) for path in find_runs(paths)]
    names = _names([run.path for run in runs])
    summary = [("status", [run_status(run).text for run in runs]),
               ("preset", [str(run.config.get("preset", "–")) for run in runs]),
               ("steps", [f"{run.reached_step:,} of {run.planned_steps:,}" if run.planned_steps
                          else f"{run.reached_step:,}" for run in runs]),
               ("wall-clock", [f"{run.losses[-1]['seconds']:,.1f} s" if run.losses and "seconds" in run.losses[-1]
                               else "–" for run in runs])]
    keys = list(dict.fromkeys(k for run in runs for k in run.config))
    config = [(key, [number(run.config[key]) if key in run.config else "–" for run in runs]) for key in keys
              if len({repr(run.config.get(key)) for run in runs}) > 1]
    finals = [final_metrics(run) for run in runs]
    metric_keys = list(dict.fromkeys(k for final in finals for k in final.values))
    differently = judged_differently(finals)
    metrics = []
    for key in metric_keys:
        values = [final.values.get(key) for final in finals]
        metrics.append((key, values, best(key, values) if differently is None else set()))
    not_ranked = None if differently is None else f"no best marked: the runs were measured differently ({differently})"
    return Comparison(runs, names, summary, config, metrics, [final.source for final in finals], not_ranked)


def _names(paths: Sequence[Path]) -> list[str]:
    """Folder names, with their parent's where two share one."""
    names = [path.resolve().name for path in paths]
    return [f"{path.resolve().parent.name}/{name}" if names.count(name) > 1 else name
            for path, name in zip(paths, names)]


# -- terminal --------------------------------------------------------------------------------


def terminal_table(comparison: Comparison) -> str:
    rows: list[list[str]] = [["run", *comparison.names]]
    rows += [[name, *values] for name, values in comparison.summary]
    rows.append(["config keys that differ", *[""] * len(comparison.runs)])
    rows += [[f"  {key}", *values] for key, values in comparison.config] or [["  (none)", *[""] * len(comparison.runs)]]
    rows.append(["final metrics (* best)", *comparison.sources])
    for key, values, winners in comparison.metrics:
        rows.append([f"  {key}", *[("–" if v is None else number(v) + (" *" if i in winners else ""))
                                   for i, v in enumerate(values)]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines + ([f"note: {comparison.not_ranked}"] if comparison.not_ranked else []))


# -- page ------------------------------------------------------------------------------------


def write_comparison(paths: Sequence[str | Path], out: str | Path) -> Comparison:
    """compare.html (or `out`) of the runs found in `paths`; returns what it compared."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise UserError(f"--out {out}: is a directory; give a file name such as {out / 'compare.html'}")
    comparison = compare(paths)
    write_page(out, build_comparison(comparison))
    return comparison


def build_comparison(comparison: Comparison) -> str:
    runs = comparison.runs
    curves = [RunCurves(name, run.losses, run.evals, run_floor(run)) for name, run in zip(comparison.names, runs)]
    charts = [chart.to_json() for chart in compare_charts(curves)]
    head = [esc("run"), *[f"<b>{esc(name)}</b>" for name in comparison.names]]
    rows = [[esc(name), *[esc(v) for v in values]] for name, values in comparison.summary]
    config_rows = [[f"<code>{esc(key)}</code>", *[f"<code>{esc(v)}</code>" for v in values]]
                   for key, values in comparison.config]
    metric_rows = [[esc(label(key)), *[_metric_cell(v, i in winners) for i, v in enumerate(values)]]
                   for key, values, winners in comparison.metrics]
    metric_rows.insert(0, ["<i>from</i>", *[f'<td class="{"" if _has(comparison, i) else "none"}">{esc(source)}</td>'
                                            for i, source in enumerate(comparison.sources)]])
    body = "\n".join([
        f"<h1>{len(runs)} runs compared</h1>",
        table(head, rows, "runs"),
        "<h2>Config keys that differ</h2>",
        table(["key", *comparison.names], config_rows, "config-diff") if config_rows else "<p>None: the same config.</p>",
        "<h2>Final metrics</h2>" + _ranking_note(comparison.not_ranked),
        table(["metric", *comparison.names], metric_rows, "final-metrics"),
        "<h2>Final sample grids</h2>",
        '<div class="row" id="final-grids">' + "".join(_final_grid(name, run) for name, run in zip(comparison.names, runs))
        + "</div>",
        "<h2>Training curves</h2>", axis_switch(charts), chart_divs(charts),
    ])
    return page(f"{len(runs)} runs compared: counterfeit", body, charts)


def _ranking_note(not_ranked: str | None) -> str:
    if not_ranked is None:
        return "<p class='hint'>The best value of each row is marked.</p>"
    return f"<p class='problems' id='not-ranked'>{esc(not_ranked[0].upper() + not_ranked[1:])}.</p>"


def _has(comparison: Comparison, run: int) -> bool:
    return any(values[run] is not None for _, values, _ in comparison.metrics)


def _metric_cell(value: float | None, winner: bool) -> str:
    if value is None:
        return '<td class="num none">–</td>'
    return f'<td class="num{" best" if winner else ""}">{number(value)}{" ★" if winner else ""}</td>'


def _final_grid(name: str, run: RunData) -> str:
    if not run.grids:
        return f'<figure><p class="none">{esc(name)}: no sample grids</p></figure>'
    grid = run.grids[-1]
    return (f'<figure>{image(grid, "grid", f"{name} at step {grid.step}")}'
            f"<figcaption><b>{esc(name)}</b>, step {grid.step:,}</figcaption></figure>")

