"""One run of an experiment, in whatever process a backend gives it: train it (or resume it from
its checkpoint), judge it as `counterfeit eval RUN` does (eval.json), and record the outcome in
the run's result.json. A failure is an outcome too: recorded with its message, never retried."""

from __future__ import annotations

import json
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from counterfeit.config import Config, to_dict
from counterfeit.errors import UserError
from counterfeit.experiments.expdir import RESULT_FILE
from counterfeit.experiments.spec import Evaluation
from counterfeit.fileio import atomic_write_text
from counterfeit.metrics.evaluate import evaluate_path
from counterfeit.rundir import RunLocked, is_run_dir, read_metrics
from counterfeit.train.interrupt import TrainingStopped
from counterfeit.train.loop import resume, train


@dataclass(frozen=True)
class RunTask:
    label: str  # "variant/seed-s"
    path: str
    config: Config
    evaluation: Evaluation
    threads: int  # torch threads: the experiment's, so that no result depends on the worker count


def execute(task: RunTask) -> dict[str, Any]:
    """The run's result: {"status": "done", "steps", "images_seen", "seconds", "eval"}, or
    {"status": "failed", "message"}; "interrupted" (Ctrl-C, or another process holds the run)
    is not written down, since the run goes on next time."""
    torch.set_num_threads(task.threads)
    path = Path(task.path)
    try:
        if is_run_dir(path):
            resume(path, to_dict(task.config), quiet=True)  # refuses a run whose config is not this one
        else:
            shutil.rmtree(path, ignore_errors=True)  # killed before its config.toml: nothing in it to keep
            train(task.config, out=path, quiet=True)
        evaluation = task.evaluation
        report = evaluate_path(path, evaluation.n, evaluation.seed, per_class=evaluation.per_class)
        result = {"status": "done", **trained(path), "eval": report.to_json()}
    except (TrainingStopped, RunLocked) as err:
        return {"status": "interrupted", "message": str(err)}
    except UserError as err:  # NaN (exit 3), bad data, a damaged checkpoint, ...
        result = {"status": "failed", "message": str(err), "exit_code": err.exit_code}
    except Exception as err:  # anything else is a bug, but one run's bug must not sink the others
        result = {"status": "failed", "message": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path / RESULT_FILE, json.dumps(result, indent=1) + "\n")
    return result


def trained(path: Path) -> dict[str, Any]:
    """How far the run went: its last loss record (a run stopped by its time budget logs that step)."""
    last = [r for r in read_metrics(path) if "d_loss" in r][-1]
    return {"steps": last["step"], "images_seen": last["images_seen"], "seconds": last["seconds"]}
