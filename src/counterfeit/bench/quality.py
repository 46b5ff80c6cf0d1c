"""`counterfeit bench --to-quality PRESET`: wall-clock seconds until a preset's quality target holds.

The run is an ordinary training run (its run directory, its in-training evaluation every
`eval_every` steps on EVAL_N samples, see train/watch.py); it ends at the first evaluation where
the preset's target holds, at `steps`, or when the `--max-minutes` cap (`max_seconds`) is spent.
The seconds are wall-clock from the call to the end of that evaluation: data loading, the
evaluator's reference statistics (cached after the first run) and every evaluation count, the
final files (plots, GIF, report) do not.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from counterfeit.bench.machine import load_average, machine_info
from counterfeit.config import Config
from counterfeit.errors import ConfigError
from counterfeit.fileio import atomic_write_text
from counterfeit.rundir import TO_QUALITY_FILE, RunDir
from counterfeit.train.loop import train


@dataclass(frozen=True)
class Target:
    """Every metric of `at_least` at or above its value, every one of `at_most` at or below, and
    FID within `fid_floor_multiple` times the real floor (held-out real images, the same sample
    count) when set."""

    description: str
    at_least: Mapping[str, float] = field(default_factory=dict)
    at_most: Mapping[str, float] = field(default_factory=dict)
    fid_floor_multiple: float | None = None

    def unmet(self, record: Mapping[str, Any]) -> list[str]:
        """The parts of the target an eval record misses ("fid 12.3 > 4.0", ...); [] when it holds."""
        misses = [f"{key} {_get(record, key):.4g} < {bound:g}" for key, bound in self.at_least.items()
                  if not _get(record, key) >= bound]
        misses += [f"{key} {_get(record, key):.4g} > {bound:g}" for key, bound in self.at_most.items()
                   if not _get(record, key) <= bound]
        if self.fid_floor_multiple is not None:
            bound = self.fid_floor_multiple * record.get("floor", {}).get("fid", float("nan"))
            if not _get(record, "fid") <= bound:
                misses.append(f"fid {_get(record, 'fid'):.4g} > {self.fid_floor_multiple:g} x floor = {bound:.4g}")
        return misses

    def holds(self, record: Mapping[str, Any]) -> bool:
        return not self.unmet(record)


def _get(record: Mapping[str, Any], key: str) -> float:
    return float(record.get(key, float("nan")))  # a missing metric (NaN) meets no bound


UNCONDITIONAL = Target("FID <= 4 x the real floor, precision >= 0.80, recall >= 0.75",
                       at_least={"precision": 0.80, "recall": 0.75}, fid_floor_multiple=4.0)
# The best preset's (issue 15): the unconditional target, all 10 digits, and their frequencies those
# of the data (KL of the data's class histogram to the samples').
BEST = Target("FID <= 4 x the real floor, precision >= 0.80, recall >= 0.75, 10 classes, class KL <= 0.02",
              at_least={"precision": 0.80, "recall": 0.75, "classes_covered": 10}, at_most={"class_kl": 0.02},
              fid_floor_multiple=4.0)
EVERY_DIGIT = Target("every digit's conditional accuracy >= 0.97", at_least={"cond_accuracy_min": 0.97})

# One line per preset with a target.
TARGETS: dict[str, Target] = {
    "best": BEST,
    "cdcgan": EVERY_DIGIT,
    "dcgan": UNCONDITIONAL,
    "mlp2": UNCONDITIONAL,
    "mlp4": UNCONDITIONAL,
}


def target_for(preset: str) -> Target:
    if preset not in TARGETS:
        raise ConfigError(f"--to-quality {preset}: no quality target for this preset "
                          f"(presets with one: {', '.join(sorted(TARGETS))})")
    return TARGETS[preset]


class _FirstHold:
    """The watch's stop_when: remembers the first eval record where the target holds, and when."""

    def __init__(self, target: Target, started: float) -> None:
        self.target, self.started = target, started
        self.last: dict[str, Any] | None = None  # the latest eval record
        self.seconds: float | None = None  # wall-clock at the end of the eval that met the target

    def __call__(self, record: dict[str, Any]) -> bool:
        self.last = record
        if self.target.holds(record):
            self.seconds = round(time.perf_counter() - self.started, 3)
            return True
        return False


def to_quality(config: Config, out: str | Path | None = None, max_minutes: float | None = None,
               quiet: bool = False) -> dict[str, Any]:
    """Train `config` until its preset's target holds at an eval; the result, also written as
    `to_quality.json` into the run directory."""
    target = target_for(config.preset)
    if not config.eval_every:
        raise ConfigError(f"eval_every: 0 evaluates nothing during training, so --to-quality "
                          f"{config.preset} could never see its target; set eval_every > 0")
    if max_minutes is not None:
        config = config.replace(max_seconds=max_minutes * 60)
    started = time.perf_counter()
    watch = _FirstHold(target, started)
    run_dir = train(config, out=out, quiet=quiet, stop_when=watch)
    reached = watch.seconds is not None
    records = RunDir(run_dir).read_metrics()
    last_step = max((int(r["step"]) for r in records if "step" in r), default=0)
    result = {
        "preset": config.preset,
        "target": target.description,
        "reached": reached,
        "seconds": watch.seconds if reached else round(time.perf_counter() - started, 3),
        "steps": watch.last["step"] if reached and watch.last else last_step,
        "metrics": {k: v for k, v in (watch.last or {}).items() if k not in ("step",)},
        "unmet": [] if reached or watch.last is None else target.unmet(watch.last),
        "stopped_by": "target" if reached else _why_not(config, records, last_step, watch.last is not None),
        "run_dir": str(run_dir),
        "max_minutes": max_minutes,
        **machine_info(),
        "load_1min": load_average(),
    }
    atomic_write_text(run_dir / TO_QUALITY_FILE, json.dumps(result, indent=1) + "\n")
    return result


def _why_not(config: Config, records: list[dict[str, Any]], last_step: int, evaluated: bool) -> str:
    """What ended a run short of its target: its steps, a collapse signal (collapse_abort), or the cap."""
    if last_step >= config.steps:
        return f"steps: all {config.steps} steps done"
    signals = [r for r in records if "collapse" in r]
    if config.collapse_abort and signals:  # checked before the cap: a run that collapsed at 1.7 s was no cap's
        return f"collapse_abort: {signals[0]['collapse']} at step {signals[0]['step']}"
    cap = f"max_seconds: the {config.max_seconds:g} s cap"
    return cap if evaluated else f"{cap}, before the first evaluation (eval_every {config.eval_every})"


def format_result(result: Mapping[str, Any]) -> str:
    """Two or three lines: the verdict, the metrics at the eval, the machine."""
    metrics = result["metrics"]
    shown = ", ".join(f"{k} {metrics[k]:.4g}" for k in ("fid", "precision", "recall", "cond_accuracy",
                                                          "cond_accuracy_min") if k in metrics)
    if result["reached"]:
        head = (f"{result['preset']}: target reached in {result['seconds']:.1f} s, {result['steps']} steps "
                f"({result['target']})")
    else:
        head = (f"{result['preset']}: target not reached ({result['target']}); stopped by {result['stopped_by']} "
                f"after {result['seconds']:.1f} s, {result['steps']} steps"
                + (f"; unmet at the last eval: {'; '.join(result['unmet'])}" if result["unmet"] else ""))
    machine = (f"{result['cpu']}, {result['cores']} cores, {result['threads']} torch threads, torch {result['torch']}; "
               f"1-min load average {result['load_1min']}")
    return "\n".join([head] + ([f"at that eval: {shown}"] if shown else []) + [machine,
                      f"written: {Path(result['run_dir']) / TO_QUALITY_FILE}"])
