"""In-training evaluation curves from metrics.jsonl, with the real-data floor as dashed lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from counterfeit.viz.plots import pyplot, save_figure

PANELS = (("FID ({evaluator} evaluator)", ("fid",), True),
          ("precision / recall", ("precision", "recall"), False),
          ("classes covered", ("classes_covered",), False),
          ("class KL (data || samples)", ("class_kl",), False),
          ("diversity (x real)", ("diversity",), False),
          ("modes covered (of 1,000)", ("modes_covered",), False),  # stacked-mnist's
          ("mode KL to uniform", ("mode_kl",), False))


def plot_eval_metrics(records: Sequence[Mapping[str, Any]], floor: Mapping[str, float],
                      path: str | Path, title: str = "", evaluator: str = "MNIST") -> None:
    """`evaluator`: the data the evaluator was trained on, as the FID axis names it."""
    rows = [r for r in records if "eval_n" in r]
    panels = [panel for panel in PANELS if any(key in row for row in rows for key in panel[1])] or list(PANELS[:4])
    fig, axes = pyplot().subplots(len(panels), 1, figsize=(8, 2.25 * max(len(panels), 2)), sharex=True,
                                  squeeze=False)
    axes = axes[:, 0]
    for ax, (label, keys, log_scale) in zip(axes, panels):
        for key in keys:
            shown = [r for r in rows if key in r]
            line, = ax.plot([r["step"] for r in shown], [r[key] for r in shown], marker="o", ms=3, label=key)
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
