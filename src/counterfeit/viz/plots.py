"""Loss curves from metrics.jsonl records."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

from counterfeit.fileio import atomic_write_bytes


def pyplot() -> Any:
    """matplotlib, imported on first use: it costs ~1 s, and `sample` or `eval` never plot."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers or in CI
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path) -> None:
    """The figure as a PNG, written atomically; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    pyplot().close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def plot_losses(records: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """Top: D and G loss; bottom: mean D(x) and D(G(z)) (0.5 is where D cannot tell)."""
    rows = [r for r in records if "d_loss" in r]
    steps = [r["step"] for r in rows]
    fig, (top, bottom) = pyplot().subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(steps, [r["d_loss"] for r in rows], label="D loss")
    top.plot(steps, [r["g_loss"] for r in rows], label="G loss")
    top.set_ylabel("loss")
    top.legend()
    top.set_title(title)
    bottom.plot(steps, [r["d_real"] for r in rows], label="D(x)")
    bottom.plot(steps, [r["d_fake"] for r in rows], label="D(G(z))")
    bottom.axhline(0.5, color="grey", lw=0.8, ls="--")
    bottom.set_ylim(-0.02, 1.02)
    bottom.set_xlabel("step")
    bottom.set_ylabel("mean D output")
    bottom.legend()
    fig.tight_layout()
    save_figure(fig, path)
