"""`counterfeit experiment run FILE.toml`: every (variant, seed) run of an experiment, on worker
processes or Ray, then the summary. Running the same command again continues: done and failed
runs are kept as they are (failed ones run again with `retry_failed`, say after a fix),
interrupted ones resume from their checkpoints, the rest start.
"""

from __future__ import annotations

import os
import platform
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from counterfeit.errors import UserError
from counterfeit.experiments.backends import require_ray, run_local, run_ray, uses_cuda, visible_gpus
from counterfeit.experiments.execute import RunTask
from counterfeit.experiments.expdir import (append_event, default_out, open_experiment, retire_failure, run_path,
                                            run_status)
from counterfeit.experiments.outcomes import read_outcomes
from counterfeit.experiments.spec import Experiment, load_experiment
from counterfeit.experiments.summary import write_summary
from counterfeit.train.interrupt import TrainingStopped
from counterfeit.rundir import run_lock

BACKENDS = ("local", "ray")
Log = Callable[[str], None]


class ExperimentIncomplete(UserError):
    """Some runs were interrupted or never started (a worker died): not bad input, and the same
    command continues them."""

    exit_code = 1


@dataclass(frozen=True)
class PlannedRun:
    variant: str
    seed: int
    path: Path
    status: str  # done, failed, interrupted or pending

    @property
    def label(self) -> str:
        return f"{self.variant}/seed-{self.seed}"


def plan(experiment: Experiment, root: Path) -> list[PlannedRun]:
    """Seed by seed, every variant: a partial experiment already has whole pairs to compare."""
    return [PlannedRun(v.name, seed, run_path(root, v.name, seed), run_status(run_path(root, v.name, seed)))
            for seed in experiment.seeds for v in experiment.variants]


def usable_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_experiment(file: str | Path, out: str | Path | None = None, workers: int | None = None,
                   backend: str = "local", address: str | None = None, log: Log = _stderr,
                   retry_failed: bool = False) -> Path:
    """Every check first (the file, the options, the directory), then the runs; returns the
    experiment directory, whose summary is written at the end."""
    experiment = load_experiment(file)
    if backend not in BACKENDS:
        raise UserError(f"--backend {backend}: choose from {', '.join(BACKENDS)}")
    if address is not None and backend != "ray":
        raise UserError(f"--address {address}: only for --backend ray")
    if backend == "ray":
        require_ray()
    root = Path(out) if out is not None else default_out(experiment)
    open_experiment(root, experiment)
    with run_lock(root):  # one runner per experiment directory
        read_outcomes(root)  # a damaged record of a run done is refused now, not after the runs to go
        runs = plan(experiment, root)
        if retry_failed:
            for run in (r for r in runs if r.status == "failed"):
                kept = retire_failure(run.path)
                append_event(root, {"event": "retry", "run": run.label, "failure": kept.name})
            runs = plan(experiment, root)
        todo = [r for r in runs if r.status in ("pending", "interrupted")]
        if workers is None and not (backend == "ray" and address):
            workers = max(1, usable_cpus() // experiment.threads)
        append_event(root, {"event": "begin", "backend": backend, "address": address, "workers": workers,
                            "threads": experiment.threads, "machine": platform.platform(), "cpus": usable_cpus(),
                            "gpus": visible_gpus(),
                            "load": round(os.getloadavg()[0], 2), "to_run": [r.label for r in todo]})
        log(f"{root}: {len(runs)} runs; {sum(r.status == 'done' for r in runs)} done, "
            f"{sum(r.status == 'failed' for r in runs)} failed, {sum(r.status == 'interrupted' for r in runs)} "
            f"to resume, {sum(r.status == 'pending' for r in runs)} to start; {backend} backend, "
            f"{workers or 'all'} at a time, {experiment.threads} thread(s) each")
        unfinished = _execute(experiment, root, todo, workers, backend, address, log)
        write_summary(root)
    if unfinished:
        raise ExperimentIncomplete(f"{len(unfinished)} run(s) were interrupted or not started "
                                   f"({', '.join(unfinished)}); run the same command again to continue them")
    return root


def _execute(experiment: Experiment, root: Path, todo: list[PlannedRun], workers: int | None, backend: str,
             address: str | None, log: Log) -> list[str]:
    """Runs `todo`, logging each end in events.jsonl; returns the labels of the runs interrupted,
    then of those never started (a local worker died, which stops the pool)."""
    variants = {v.name: v for v in experiment.variants}
    tasks = [RunTask(r.label, str(r.path), variants[r.variant].config_for(r.seed), experiment.evaluation,
                     experiment.threads) for r in todo]
    resumed = {r.label for r in todo if r.status == "interrupted"}
    interrupted: list[str] = []
    first_metric = experiment.evaluation.metrics[0]

    def on_result(task: RunTask, result: dict) -> None:
        status = result["status"]
        append_event(root, {"event": status, "run": task.label, "resumed": task.label in resumed,
                            **{k: result[k] for k in ("steps", "seconds", "message") if k in result}})
        if status == "done":
            value = result["eval"]["metrics"].get(first_metric)
            judged = f", {first_metric} {value:.4g}" if value is not None else ""
            log(f"{task.label}: done, {result['steps']} steps in {result['seconds']:.0f} s{judged}")
        else:
            log(f"{task.label}: {status}: {result.get('message', '')}")
            if status == "interrupted":
                interrupted.append(task.label)

    try:
        if backend == "local":
            not_started = run_local(tasks, workers or 1, on_result, gpus=visible_gpus() if uses_cuda(tasks) else [])
        else:
            not_started = run_ray(tasks, workers, experiment.threads, address, on_result)
    except KeyboardInterrupt:
        write_summary(root)
        raise TrainingStopped(f"interrupted; runs under way stopped at a checkpoint; continue with: counterfeit "
                              f"experiment run {experiment.path} --out {root}", signal.SIGINT) from None
    if not_started:
        log(f"not started, the pool having stopped: {', '.join(task.label for task in not_started)}")
    return interrupted + [task.label for task in not_started]
