"""Medians over repeated `bench --json` runs: the figures docs/benchmarks.md reports.

One bench run is one process on one machine in one spell of its load; the issue's figures are the
median (and range) over several runs of the same command. Rows are matched across runs by
preset, precision and FLOPs per step (the config's shape); runs from different CPUs or torch
versions are refused, since a median across machines describes none of them.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any, Callable

from counterfeit.errors import UserError
from counterfeit.experiments.summary import markdown_table

# (column, JSON key, digits): the figures that vary between runs
FIGURES = [("steps/s", "steps_per_s", 1), ("floor steps/s", "floor_steps_per_s", 1),
           ("gemm_floor_fraction", "gemm_floor_fraction", 3), ("textbook steps/s", "textbook_steps_per_s", 1),
           ("speedup", "speedup", 2), ("vs fp32", "vs_fp32", 2), ("vs fp32 floor", "vs_fp32_floor", 2)]
MACHINE = ("cpu", "cpu_vendor", "cpu_features", "torch", "threads", "cuda", "device")  # must agree across runs
OPTIONAL = {"device": "cpu",  # what runs made before the key existed measured
            "vs_fp32_floor": None}  # not measured before it existed
# what each key the summary reads must hold; null only where bench writes it (no GPU, no load
# average on this OS, fp32 not measured)
KINDS = {**dict.fromkeys(("preset", "precision", "cpu", "cpu_vendor", "torch", "device", "cuda"), "a string"),
         "cpu_features": "a list of strings", "threads": "a positive integer",
         **dict.fromkeys(("gflop_per_step", "roofline_gflops", "load_1min", *(key for _, key, _ in FIGURES)),
                         "a finite number")}
NULLABLE = {"cuda", "load_1min", "vs_fp32", "vs_fp32_floor"}
CHECKS: dict[str, Callable[[Any], bool]] = {
    "a string": lambda value: isinstance(value, str),
    "a list of strings": lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
    "a positive integer": lambda value: type(value) is int and value > 0,  # type(): a bool is no count
    "a finite number": lambda value: type(value) in (int, float) and math.isfinite(value),  # JSON allows NaN
}
NOT_BENCH = "not the output of `counterfeit bench --json`"


def read_runs(paths: list[Path]) -> list[list[dict[str, Any]]]:
    """Each file's rows, checked to be `bench --json` output."""
    runs = []
    for path in paths:
        try:
            rows = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise UserError(f"{path}: not readable as JSON ({err.__class__.__name__})") from None
        if not isinstance(rows, list) or not rows or not all(isinstance(row, dict) for row in rows):
            raise UserError(f"{path}: {NOT_BENCH} (a list of result objects)")
        rows = [{**OPTIONAL, **row} for row in rows]
        for number, row in enumerate(rows, 1):
            problem = _problem(row)
            if problem:
                raise UserError(f"{path}: {NOT_BENCH} (result {number}: {problem})")
        runs.append(rows)
    return runs


def _problem(row: dict[str, Any]) -> str | None:
    """What makes one result object unfit to summarise (a key missing, or of the wrong type), if anything."""
    for key, kind in KINDS.items():
        if key not in row:
            return f"no {key}"
        value = row[key]
        if not (CHECKS[kind](value) or value is None and key in NULLABLE):
            return f"{key} is {json.dumps(value)}, not {kind}"
    return None


def summarize(runs: list[list[dict[str, Any]]], paths: list[Path] | None = None) -> dict[str, Any]:
    """The machine, and per (preset, precision, shape) each figure's median, min and max over runs."""
    names = [str(p) for p in paths] if paths else [f"run {i + 1}" for i in range(len(runs))]
    machine = {key: runs[0][0][key] for key in MACHINE}
    for name, rows in zip(names, runs):
        for row in rows:
            other = next((key for key in MACHINE if row[key] != machine[key]), None)
            if other is not None:
                raise UserError(f"{name}: measured with {other} {row[other]!r}, the first run with "
                                f"{machine[other]!r}; medians across machines describe none of them")
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for rows in runs:
        for row in rows:
            groups.setdefault((row["preset"], row["precision"], row["gflop_per_step"]), []).append(row)
    results = []
    for (preset, precision, gflop), rows in groups.items():
        figures = {}
        for _, key, _ in FIGURES:
            values = [row[key] for row in rows if row[key] is not None]
            figures[key] = ({"median": statistics.median(values), "min": min(values), "max": max(values)}
                            if values else None)
        results.append({"preset": preset, "precision": precision, "gflop_per_step": gflop, "runs": len(rows),
                        **figures})
    return {**machine, "runs": len(runs),
            "roofline_gflops": [rows[0]["roofline_gflops"] for rows in runs],
            "load_1min": [rows[0]["load_1min"] for rows in runs], "results": results}


def format_summary(summary: dict[str, Any]) -> str:
    """A Markdown table, median (min–max) per figure, under a line naming the machine."""
    features = ", ".join(summary["cpu_features"]) or "no AVX-512"
    roofline, load = summary["roofline_gflops"], [value for value in summary["load_1min"] if value is not None]
    lines = [f"{summary['runs']} runs on {summary['cpu']} ({summary['cpu_vendor']}; {features}), "
             f"{summary['threads']} torch threads, torch {summary['torch']}"
             + (f", {summary['cuda']}" if summary["cuda"] else "")
             + (" (measured on the GPU)" if summary["device"] == "cuda" else "")
             + f"; roofline {min(roofline):.0f}–{max(roofline):.0f} GFLOP/s"
             + (f"; 1-min load {min(load)}–{max(load)}" if load else ""),
             ""]
    rows = [[row["preset"] + ("" if row["runs"] == summary["runs"] else f" ({row['runs']} runs)"), row["precision"],
             *(_cell(row[key], digits) for _, key, digits in FIGURES)] for row in summary["results"]]
    lines += markdown_table(["preset", "precision", *(column for column, _, _ in FIGURES)], rows)
    return "\n".join(lines)


def _cell(figure: dict[str, float] | None, digits: int) -> str:
    if figure is None:
        return ""
    return f"{figure['median']:.{digits}f} ({figure['min']:.{digits}f}–{figure['max']:.{digits}f})"
