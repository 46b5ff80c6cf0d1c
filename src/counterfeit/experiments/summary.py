"""The answer an experiment gives: per variant, mean and 95% interval over seeds of each metric
(beside the real-data floor), of the steps done and the wall-clock; each variant against the
baseline as paired differences on the same seeds, with a plain verdict; the time to reach the
file's threshold ("learns faster"). Written as summary.json, summary.md and curves.png.

Failed runs are counted and listed with their messages; their seeds drop out of the means and
the pairs, which the counts beside each number show.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from counterfeit.experiments.curves import plot_curves
from counterfeit.experiments.expdir import CURVES_PNG, SUMMARY_JSON, SUMMARY_MD, read_events
from counterfeit.experiments.outcomes import STATUSES, Outcome, images_per_step, read_outcomes
from counterfeit.experiments.spec import Threshold, better_direction
from counterfeit.experiments.stats import Interval, mean_interval, paired_difference, verdict
from counterfeit.fileio import atomic_write_text

FORMAT = "counterfeit-experiment-summary-1"
# How far each run went: wall-clock is lower-is-better (it is the cost); steps and images are
# the budget's outcome, compared but not judged.
EFFORT = {"seconds": "lower", "steps": None, "images_seen": None}
CROSSING = ("steps", "images_seen", "seconds")  # where a run first got past the threshold
LABELS = {"seconds": "wall-clock s", "steps": "steps", "images_seen": "images seen",
          "classes_covered": "classes", "cond_accuracy": "cond. accuracy",
          "cond_accuracy_min": "worst digit"}


def summarize(root: Path) -> dict[str, Any]:
    """summary.json's object, from the experiment directory as it is now (finished or not)."""
    return _summary(root, *read_outcomes(root))


def write_summary(root: Path) -> dict[str, Any]:
    record, outcomes = read_outcomes(root)
    summary = _summary(root, record, outcomes)
    per_step = {name: images_per_step(config) for name, config in record["spec"]["variants"].items()}
    has_curves = plot_curves(summary, outcomes, per_step, root / CURVES_PNG)
    atomic_write_text(root / SUMMARY_JSON, json.dumps(summary, indent=1) + "\n")
    atomic_write_text(root / SUMMARY_MD, to_markdown(summary, has_curves))
    return summary


def _summary(root: Path, record: dict[str, Any], outcomes: list[Outcome]) -> dict[str, Any]:
    spec = record["spec"]
    metrics, threshold, baseline = spec["eval"]["metrics"], _threshold(spec), spec["baseline"]
    by_variant = {name: [o for o in outcomes if o.variant == name] for name in spec["variants"]}
    return {
        "format": FORMAT, "experiment": record["name"], "description": record["description"],
        "fingerprint": record["fingerprint"], "budget": spec["budget"], "budget_rule": record["budget_rule"],
        "seeds": spec["seeds"], "threads": spec["threads"], "baseline": baseline, "eval": spec["eval"],
        "floor_source": next((o.result["eval"].get("floor_source") for o in outcomes if "eval" in o.result), None),
        "runs": {"total": len(outcomes), **{status: sum(o.status == status for o in outcomes) for status in STATUSES}},
        "failed": [{"run": o.label, "message": o.result.get("message", "")} for o in outcomes if o.status == "failed"],
        "variants": [_variant(name, runs, metrics, threshold, spec["variants"][name])
                     for name, runs in by_variant.items()],
        "comparisons": [] if baseline is None else [
            _comparison(name, runs, by_variant[baseline], baseline, metrics, threshold, spec["variants"])
            for name, runs in by_variant.items() if name != baseline],
        "invocations": [{k: v for k, v in e.items() if k not in ("event", "to_run")}
                        for e in read_events(root) if e.get("event") == "begin"],
    }


def _threshold(spec: dict[str, Any]) -> Threshold | None:
    table = spec["eval"]["threshold"]
    if not table:
        return None
    metric, value = next(iter(table.items()))
    direction = better_direction(metric)
    assert direction is not None, "load_experiment accepts only thresholds with a better direction"
    return Threshold(metric, value, direction)


def crossing(outcome: Outcome, threshold: Threshold, config: dict[str, Any]) -> dict[str, float] | None:
    """The first in-training evaluation past the threshold: where it was (CROSSING)."""
    for record in outcome.evals:
        if threshold.metric in record and threshold.reached(record[threshold.metric]):
            return {"steps": record["step"], "seconds": record["seconds"],
                    "images_seen": record["step"] * images_per_step(config)}
    return None


def _stats(values: Sequence[float]) -> dict[str, Any] | None:
    return {**mean_interval(values).to_json(), "values": list(values)} if values else None


def _variant(name: str, runs: list[Outcome], metrics: list[str], threshold: Threshold | None,
             config: dict[str, Any]) -> dict[str, Any]:
    done = [o for o in runs if o.status == "done"]
    entry: dict[str, Any] = {
        "name": name,
        "runs": {status: [o.seed for o in runs if o.status == status] for status in STATUSES},
        "metrics": {},
    }
    for metric in metrics:
        values = [v for v in (o.value(metric) for o in done) if v is not None]
        floors = [f for f in (o.floor(metric) for o in done) if f is not None]
        stats = _stats(values)
        if stats is not None:
            entry["metrics"][metric] = {**stats, "floor": floors[0] if floors else None,
                                        "better": better_direction(metric)}
    for key in EFFORT:
        entry[key] = _stats([o.value(key) for o in done])
    if threshold is not None:
        crossings = [c for c in (crossing(o, threshold, config) for o in done) if c is not None]
        entry["threshold"] = {"reached": len(crossings), "of": len(done),
                              **{key: _stats([c[key] for c in crossings]) for key in CROSSING}}
    return entry


def _difference(values: list[float], base: list[float], better: str | None) -> dict[str, Any]:
    interval: Interval = paired_difference(values, base)
    return {**interval.to_json(), "verdict": verdict(interval, better)}


def _comparison(name: str, runs: list[Outcome], base_runs: list[Outcome], baseline: str, metrics: list[str],
                threshold: Threshold | None, configs: dict[str, Any]) -> dict[str, Any]:
    """Paired on seeds: both runs of a seed done; a seed whose run failed on either side drops out."""
    base = {o.seed: o for o in base_runs if o.status == "done"}
    pairs = [(o, base[o.seed]) for o in runs if o.status == "done" and o.seed in base]
    entry: dict[str, Any] = {"variant": name, "baseline": baseline, "seeds": [o.seed for o, _ in pairs], "metrics": {}}
    if not pairs:
        return entry
    for metric in metrics:
        both = [(o.value(metric), b.value(metric)) for o, b in pairs]
        if all(v is not None and w is not None for v, w in both):
            entry["metrics"][metric] = _difference([v for v, _ in both], [w for _, w in both], better_direction(metric))
    for key, better in EFFORT.items():
        entry[key] = _difference([o.value(key) for o, _ in pairs], [b.value(key) for _, b in pairs], better)
    if threshold is not None:
        reached = [(crossing(o, threshold, configs[name]), crossing(b, threshold, configs[baseline])) for o, b in pairs]
        both_reached = [(c, d) for c, d in reached if c is not None and d is not None]
        entry["threshold"] = {
            "pairs": len(pairs), "both_reached": len(both_reached),
            "only_variant": sum(c is not None and d is None for c, d in reached),
            "only_baseline": sum(c is None and d is not None for c, d in reached),
            **{key: _difference([c[key] for c, _ in both_reached], [d[key] for _, d in both_reached], "lower")
               if both_reached else None for key in CROSSING}}
    return entry


# -- summary.md -------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


def _cell(stats: dict[str, Any] | None, verdict_too: bool = False) -> str:
    if stats is None:
        return "–"
    text = _num(stats["mean"])
    if stats["low"] is not None:
        text += f" [{_num(stats['low'])}, {_num(stats['high'])}]"
    if verdict_too and stats.get("verdict"):
        word = stats["verdict"]
        text += f" **{word}**" if word in ("better", "worse") else f" ({word})"
    return text


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines: the header, its rule, a line per row."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


FLOOR_UNNAMED = "as its eval.json holds it"  # results written before evaluations named their floor


def to_markdown(summary: dict[str, Any], has_curves: bool) -> str:
    metrics = summary["eval"]["metrics"]
    runs = summary["runs"]
    budget_kind, amount = next(iter(summary["budget"].items()))
    lines = [f"# Experiment `{summary['experiment']}`", ""]
    if summary["description"]:
        lines += [summary["description"], ""]
    lines += [f"- Budget: {amount:g} {budget_kind} per run: {summary['budget_rule']}.",
              f"- Seeds: {', '.join(map(str, summary['seeds']))}; {summary['threads']} torch thread(s) per run.",
              f"- Judged on {summary['eval']['n']} samples (noise seed {summary['eval']['seed']}) by the MNIST "
              f"evaluator; floor = the first finished run's, {summary.get('floor_source') or FLOOR_UNNAMED}.",
              f"- Runs: {runs['total']}: {runs['done']} done, {runs['failed']} failed, "
              f"{runs['interrupted']} interrupted, {runs['pending']} not started."]
    if len(summary["seeds"]) < 3:
        lines.append(f"- Only {len(summary['seeds'])} seed(s): too few for an answer; use 3 or more.")
    lines += [*(f"- Failed: `{f['run']}`: {f['message']}" for f in summary["failed"]), "",
              "## Per variant: mean [95% interval] over seeds", ""]
    header = ["variant", "n", *(LABELS.get(m, m) for m in metrics), *(LABELS[k] for k in EFFORT)]
    rows = [[v["name"], str(len(v["runs"]["done"])), *(_cell(v["metrics"].get(m)) for m in metrics),
             *(_cell(v[k]) for k in EFFORT)] for v in summary["variants"]]
    floors = [next((v["metrics"][m]["floor"] for v in summary["variants"] if m in v["metrics"]), None) for m in metrics]
    rows.append(["real floor", "", *(_num(f) for f in floors), *("" for _ in EFFORT)])
    lines += markdown_table(header, rows)
    if summary["comparisons"]:
        lines += ["", f"## Against the baseline `{summary['baseline']}`: variant − baseline on the same seeds", ""]
        header = ["variant", "pairs", *(LABELS.get(m, m) for m in metrics), LABELS["seconds"]]
        rows = [[c["variant"], str(len(c["seeds"])), *(_cell(c["metrics"].get(m), True) for m in metrics),
                 _cell(c.get("seconds"), True)] for c in summary["comparisons"]]
        lines += markdown_table(header, rows)
    lines += _threshold_markdown(summary)
    if has_curves:
        lines += ["", "## In-training evaluations", "",
                  f"![curves]({CURVES_PNG}) (mean over seeds; band: 95% interval)"]
    lines += ["", "## Machines", ""]
    lines += [f"- {i['time']}: {i['machine']}, {i['cpus']} CPUs, load {i['load']}; {i['backend']} backend, "
              f"{i['workers'] or 'all runs'} at a time" for i in summary["invocations"]]
    return "\n".join(lines) + "\n"


def _threshold_markdown(summary: dict[str, Any]) -> list[str]:
    threshold = summary["eval"]["threshold"]
    if not threshold:
        return []
    metric, value = next(iter(threshold.items()))
    sign = "<" if better_direction(metric) == "lower" else ">"
    lines = ["", f"## Learns faster: first in-training evaluation with {metric} {sign} {value:g}", ""]
    rows = [[v["name"], f"{v['threshold']['reached']} of {v['threshold']['of']}",
             *(_cell(v["threshold"][k]) for k in ("seconds", "steps", "images_seen"))] for v in summary["variants"]]
    lines += markdown_table(["variant", "reached", "seconds", "steps", "images seen"], rows)
    if summary["comparisons"]:
        lines += ["", f"Against `{summary['baseline']}` (seeds where both reached it; lower is faster):", ""]
        rows = [[c["variant"], f"{c['threshold']['both_reached']} of {c['threshold']['pairs']}",
                 str(c["threshold"]["only_variant"]), str(c["threshold"]["only_baseline"]),
                 *(_cell(c["threshold"][k], True) for k in ("seconds", "steps"))]
                for c in summary["comparisons"] if "threshold" in c]
        lines += markdown_table(["variant", "both reached", "only the variant", "only the baseline", "seconds", "steps"], rows)
    return lines
