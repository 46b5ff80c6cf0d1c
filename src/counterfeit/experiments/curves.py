"""curves.png: each in-training metric against the run's clock and against images seen; per
variant the mean over seeds as a line and its 95% interval as a band.

Runs evaluate at the same steps (multiples of eval_every), so seeds are matched by step; under a
seconds budget runs stop at different steps, and a point averages the seeds that got there.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from counterfeit.experiments.outcomes import Outcome
from counterfeit.experiments.stats import mean_interval
from counterfeit.viz.plots import pyplot, save_figure

PANELS = ("fid", "precision", "recall", "classes_covered", "class_kl", "diversity", "cond_accuracy",
          "cond_accuracy_min", "modes_covered", "mode_kl")
LOG_SCALE = ("fid", "mode_kl")


def plot_curves(summary: dict[str, Any], outcomes: Sequence[Outcome], images_per_step: dict[str, int],
                path: Path) -> bool:
    """Writes the figure; False (and no file) when no run has in-training evaluations."""
    done = [o for o in outcomes if o.status == "done" and o.evals]
    panels = [m for m in PANELS if any(m in r for o in done for r in o.evals)]
    if not panels:
        path.unlink(missing_ok=True)
        return False
    from matplotlib.ticker import EngFormatter  # matplotlib on first use, as viz.plots does

    threshold = summary["eval"]["threshold"]
    fig, axes = pyplot().subplots(len(panels), 2, figsize=(7, 1.6 * len(panels)), squeeze=False)
    for name, batch in images_per_step.items():
        runs = [o for o in done if o.variant == name]
        if not runs:
            continue
        for row, metric in enumerate(panels):
            points = _points(runs, metric)
            if not points:
                continue
            seconds = [p["seconds"] for p in points]
            images = [p["step"] * batch for p in points]
            for ax, xs in zip(axes[row], (seconds, images)):
                line, = ax.plot(xs, [p["mean"] for p in points], label=name, lw=1.2, marker="o", ms=2)
                banded = [(x, p) for x, p in zip(xs, points) if p["low"] is not None]
                if banded:
                    ax.fill_between([x for x, _ in banded], [p["low"] for _, p in banded],
                                    [p["high"] for _, p in banded], color=line.get_color(), alpha=0.2, lw=0)
    for row, metric in enumerate(panels):
        for col, ax in enumerate(axes[row]):
            if metric in LOG_SCALE:
                ax.set_yscale("log")
            if metric in threshold:
                ax.axhline(threshold[metric], color="grey", ls="--", lw=0.9)
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
            if col == 1:
                ax.xaxis.set_major_formatter(EngFormatter())  # 100k, not 100000 run into the next label
            if row == len(panels) - 1:
                ax.set_xlabel("seconds (the run's clock)" if col == 0 else "images seen")
    axes[0][0].legend(fontsize=8)
    axes[0][0].set_title(f"{summary['experiment']}: mean over seeds, band = 95% interval", fontsize=9, loc="left")
    fig.tight_layout()
    save_figure(fig, path)
    return True


def _points(runs: Sequence[Outcome], metric: str) -> list[dict[str, Any]]:
    by_step: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        for record in run.evals:
            if metric in record:
                by_step[record["step"]].append(record)
    points = []
    for step in sorted(by_step):
        records = by_step[step]
        interval = mean_interval([r[metric] for r in records])
        points.append({"step": step, "seconds": sum(r["seconds"] for r in records) / len(records),
                       "mean": interval.mean, "low": interval.low, "high": interval.high})
    return points
