"""What the runs of an experiment directory came to: each (variant, seed)'s status, final
judgement, length and in-training evaluations, read from its run directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from counterfeit.experiments.expdir import read_record, read_result, run_path, run_status
from counterfeit.experiments.spec import CONDITIONAL_METRICS
from counterfeit.rundir import read_metrics


STATUSES = ("done", "failed", "interrupted", "pending")


@dataclass(frozen=True)
class Outcome:
    variant: str
    seed: int
    status: str  # one of STATUSES
    result: dict[str, Any] = field(default_factory=dict)  # result.json, when done or failed
    evals: list[dict[str, Any]] = field(default_factory=list)  # in-training evaluations, with "seconds"

    @property
    def label(self) -> str:
        return f"{self.variant}/seed-{self.seed}"

    def value(self, key: str) -> float | None:
        """A final metric (eval.json's), or the run's steps, images_seen or seconds."""
        if key in ("steps", "images_seen", "seconds"):
            return self.result.get(key)
        judged = self.result.get("eval", {})
        if key in CONDITIONAL_METRICS:
            return judged.get("conditional", {}).get(key)
        return judged.get("metrics", {}).get(key)

    def floor(self, key: str) -> float | None:
        """The same metric for held-out real images: no generator should be expected to beat it."""
        judged = self.result.get("eval", {})
        if key in CONDITIONAL_METRICS:
            return judged.get("conditional", {}).get("floor", {}).get(key)
        return judged.get("floor", {}).get(key)


def images_per_step(config: dict[str, Any]) -> int:
    """Real images D reads per step (a variant's config as experiment.json holds it)."""
    return int(config["batch_size"] * config["n_critic"])


def read_outcomes(root: Path) -> tuple[dict[str, Any], list[Outcome]]:
    """The experiment's record and every run's outcome, variants in file order, seeds in order."""
    record = read_record(root)
    spec = record["spec"]
    outcomes = []
    for variant in spec["variants"]:
        for seed in spec["seeds"]:
            path = run_path(root, variant, seed)
            status = run_status(path)
            outcomes.append(Outcome(variant, seed, status, read_result(path) or {},
                                    in_training_evals(path) if status == "done" else []))
    return record, outcomes


def in_training_evals(path: Path) -> list[dict[str, Any]]:
    """The run's `eval_every` records, each with the run's clock at its step, taken from the loss
    records around it (a step that is both logged and evaluated has its time exactly): the time to
    reach that point of training, evaluations before it included."""
    records = read_metrics(path)
    losses = [r for r in records if "d_loss" in r]
    evals = [r for r in records if "eval_n" in r]
    if not evals:
        return []
    seconds = np.interp([r["step"] for r in evals], [r["step"] for r in losses], [r["seconds"] for r in losses])
    return [{**r, "seconds": float(s)} for r, s in zip(evals, seconds)]
