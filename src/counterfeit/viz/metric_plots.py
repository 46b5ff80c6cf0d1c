"""In-training evaluation curves from metrics.jsonl, with the real-data floor as dashed lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from counterfeit.viz.plots import pyplot, save_figure

PANELS = (("FID ({evaluator} evaluator)", ("fid",), True),
          ("precision / recall", ("precision", "recall"), False),
          ("classes covered", ("classes_covered",), False),
          ("diversity (x real)", ("diversity",), False))


def plot_eval_metrics(records: Sequence[Mapping[str, Any]], floor: Mapping[str, float],
                      path: str | Path, title: str = "", evaluator: str = "MNIST") -> None:
    """`evaluator`: the data the evaluator was trained on, as the FID axis names it."""
    rows = [r for r in records if "fid" in r]
    fig, axes = pyplot().subplots(len(PANELS), 1, figsize=(8, 9), sharex=True)
    for ax, (label, keys, log_scale) in zip(axes, PANELS):
        for key in keys:
            line, = ax.plot([r["step"] for r in rows], [r[key] for r in rows], marker="o", ms=3, label=key)
            if key in floor:
                ax.axhline(floor[key], color=line.get_color(), ls="--", lw=0.9)
        if log_scale:
            ax.set_yscale("log")
        ax.set_ylabel(label.format(evaluator=evaluator))
        if len(keys) > 1:
            ax.legend()
    axes[0].set_title(title)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    save_figure(fig, path)
