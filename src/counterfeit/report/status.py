"""Where a run stands: finished, running, stopped at step N, or failed with its message.

Read from the run directory alone (the final weights, the last step reached, the lock, the loop's
failure record), except while the training process writes its own report: it holds the lock
itself, so it says whether it is still running.
"""

from __future__ import annotations

from dataclasses import dataclass

from counterfeit.report.rundata import RunData
from counterfeit.rundir import resume_command


@dataclass(frozen=True)
class Status:
    kind: str  # "finished", "running", "stopped", "failed" or "not a run"
    text: str  # one short line: a comparison's table cell
    detail: str = ""  # the rest: why it stopped or failed, how to go on

    @property
    def full(self) -> str:
        return f"{self.text}: {self.detail}" if self.detail else self.text


def run_status(data: RunData, running: bool | None = None) -> Status:
    """`running`: what the training process knows of itself; None: judge by the run's lock."""
    if not data.is_run:
        return Status("not a run", "not a run directory")
    step, planned = data.reached_step, data.planned_steps
    of = f" of {planned:,}" if planned else ""
    if data.failure is not None:
        return Status("failed", f"failed at step {data.failure['step']:,}", data.failure["failed"])
    if data.final_weights and step == planned:
        return Status("finished", f"finished: {step:,} steps")
    if data.final_weights and _budget_spent(data):
        return Status("finished", f"finished: {step:,} steps", f"its max_seconds budget "
                                                               f"({data.config['max_seconds']:g} s) was spent")
    if data.locked if running is None else running:
        return Status("running", f"running: step {step:,}{of}")
    return Status("stopped", f"stopped at step {step:,}{of}", _why_stopped(data))


def _budget_spent(data: RunData) -> bool:
    """A run with `max_seconds` ends, final files written, at the first step past its budget."""
    budget = data.config.get("max_seconds")
    seconds = data.losses[-1].get("seconds") if data.losses else None
    return isinstance(budget, (int, float)) and budget > 0 and isinstance(seconds, (int, float)) and seconds >= budget


def _why_stopped(data: RunData) -> str:
    if data.config.get("collapse_abort") and data.signals and data.final_weights:
        return f"ended by collapse_abort ({data.signals[0]['message']})"
    if data.checkpoint_steps:
        processes = data.run_info.get("processes", 1)
        return (f"last checkpoint at step {data.checkpoint_steps[-1]:,}; continue with: "
                f"{resume_command(data.path, processes if isinstance(processes, int) else 1)}")
    return "no checkpoint (a resume starts over)"
