"""A run directory read for display: whatever is there, and a line for each thing that is missing
or damaged, never an exception (a run may be half-written, killed mid-line, or not a run at all).

Nothing here writes: a report of a run changes nothing in it but report.html.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from counterfeit.rundir import (CHECKPOINT_DIR, CHECKPOINT_NAME, CONFIG_FILE, EVAL_FILE, GENERATOR_FILE,
                                METRICS_FILE, PROGRESS_GIF, SAMPLES_DIR, is_run_dir, lock_held)

_GRID = re.compile(r"^step_(\d+)\.png$")


@dataclass(frozen=True)
class Picture:
    """An image file of the run, read and checked to decode."""

    name: str  # relative to the run directory
    data: bytes
    mime: str
    step: int | None = None


@dataclass
class RunData:
    path: Path
    config: dict[str, Any] = field(default_factory=dict)  # config.toml's keys, as written
    run_info: dict[str, Any] = field(default_factory=dict)  # its [run] table
    losses: list[dict[str, Any]] = field(default_factory=list)  # records with d_loss
    evals: list[dict[str, Any]] = field(default_factory=list)  # in-training evaluations (eval_n)
    signals: list[dict[str, Any]] = field(default_factory=list)  # collapse warnings
    failure: dict[str, Any] | None = None  # the loop's record of what ended the run, if it failed
    grids: list[Picture] = field(default_factory=list)  # samples/step_*.png, by step
    gif: Picture | None = None
    evaluation: dict[str, Any] | None = None  # eval.json
    checkpoint_steps: list[int] = field(default_factory=list)
    final_weights: bool = False
    locked: bool = False  # a process trains the run now
    problems: list[str] = field(default_factory=list)  # what is missing or damaged, one line each

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def is_run(self) -> bool:
        return bool(self.config)

    @property
    def last_step(self) -> int:
        steps = [r["step"] for r in self.losses]
        return max(steps, default=0)

    @property
    def reached_step(self) -> int:
        """The last step logged, or checkpointed: a stop between log steps checkpoints where it stopped."""
        return max([self.last_step, *self.checkpoint_steps])

    @property
    def planned_steps(self) -> int | None:
        steps = self.config.get("steps")
        return steps if isinstance(steps, int) else None

    @property
    def conditional(self) -> bool:
        return self.config.get("model") in ("cmlp", "cdcgan")


def read_run(path: Path) -> RunData:
    data = RunData(path)
    _read_config(data)
    _read_metrics(data)
    data.checkpoint_steps = sorted(int(m.group(1)) for p in (path / CHECKPOINT_DIR).glob("step_*")
                                   if (m := CHECKPOINT_NAME.match(p.name)))
    _read_pictures(data)
    _read_evaluation(data)
    data.final_weights = (path / GENERATOR_FILE).is_file()
    data.locked = lock_held(path)
    return data


def _read_config(data: RunData) -> None:
    path = data.path / CONFIG_FILE
    if not is_run_dir(data.path):
        data.problems.append(f"no {CONFIG_FILE}: {data.path} is not a run directory (or its run never started)")
        return
    try:
        values = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        data.problems.append(f"{CONFIG_FILE} cannot be read ({err}); the config is not shown")
        return
    run_info = values.pop("run", {})
    data.run_info = run_info if isinstance(run_info, dict) else {}
    data.config = values


def _read_metrics(data: RunData) -> None:
    path = data.path / METRICS_FILE
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        if data.is_run:
            data.problems.append(f"no {METRICS_FILE}: no step was logged")
        return
    except OSError as err:
        data.problems.append(f"{METRICS_FILE} cannot be read ({err.strerror or err})")
        return
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = _parse(line)
        if record is None:
            where = "its last line is cut short (a run killed while writing it)" if number == len(lines) \
                else f"line {number} is not a JSON object"
            data.problems.append(f"{METRICS_FILE}: {where}; the line is left out")
        elif "d_loss" in record:
            data.losses.append(record)
        elif "eval_n" in record:
            data.evals.append(record)
        elif "collapse" in record:
            data.signals.append(record)
        elif "failed" in record:
            data.failure = record
    # A failure the run has since been resumed past no longer describes it.
    if data.failure is not None and data.failure["step"] < data.last_step:
        data.failure = None


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("step"), int) else None


def _read_pictures(data: RunData) -> None:
    samples = data.path / SAMPLES_DIR
    names = sorted((int(m.group(1)), p.name) for p in samples.glob("step_*.png") if (m := _GRID.match(p.name)))
    for step, name in names:
        picture = _picture(data, f"{SAMPLES_DIR}/{name}", "image/png", step)
        if picture is not None:
            data.grids.append(picture)
    for step in _expected_grid_steps(data):
        if step not in {grid_step for grid_step, _ in names}:
            data.problems.append(f"{SAMPLES_DIR}/step_{step:06d}.png is missing")
    if (data.path / PROGRESS_GIF).exists():
        data.gif = _picture(data, PROGRESS_GIF, "image/gif")
    elif (data.path / GENERATOR_FILE).is_file():  # the GIF is written just before the weights
        data.problems.append(f"{PROGRESS_GIF} is missing")


def _expected_grid_steps(data: RunData) -> list[int]:
    """The grids the loop writes up to the step reached: step 0, every sample_every, the last."""
    every = data.config.get("sample_every")
    if not isinstance(every, int) or every <= 0 or not data.losses:
        return []
    steps = set(range(0, data.reached_step + 1, every))
    if data.reached_step == data.planned_steps:
        steps.add(data.reached_step)
    return sorted(steps)


def _picture(data: RunData, name: str, mime: str, step: int | None = None) -> Picture | None:
    path = data.path / name
    try:
        raw = path.read_bytes()
        with Image.open(path) as image:
            image.load()  # a truncated or damaged file fails here, not in the reader's browser
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        data.problems.append(f"{name} cannot be read ({err.__class__.__name__}: {err}); it is left out")
        return None
    return Picture(name, raw, mime, step)


def _read_evaluation(data: RunData) -> None:
    path = data.path / EVAL_FILE
    if not path.exists():
        return
    try:
        evaluation = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        data.problems.append(f"{EVAL_FILE} cannot be read ({err.__class__.__name__}); the evaluation is not shown")
        return
    if isinstance(evaluation, dict) and isinstance(evaluation.get("metrics"), dict):
        data.evaluation = evaluation
    else:
        data.problems.append(f"{EVAL_FILE} has no metrics; the evaluation is not shown")
