"""The local backend when one of its worker processes dies: the pool stops, and the runs it had
not started come back to the runner, neither started nor reported."""

from __future__ import annotations

import os
from typing import Any

from counterfeit.config import resolve
from counterfeit.experiments.backends import run_local
from counterfeit.experiments.execute import RunTask
from counterfeit.experiments.spec import Evaluation


class DiesOnArrival:
    """Unpickled in a worker, it ends that worker at once, as kill -9 would (no test code is
    imported there: spawned workers could not import it)."""

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return os._exit, (9,)


def test_a_dead_worker_stops_the_pool_and_the_runs_not_started_come_back() -> None:
    config = resolve(preset="tiny")
    tasks = [RunTask(f"v/seed-{seed}", "unused", config, Evaluation(), DiesOnArrival())  # type: ignore[arg-type]
             for seed in range(4)]
    reported: list[tuple[str, dict[str, Any]]] = []
    not_started = run_local(tasks, 2, lambda task, result: reported.append((task.label, result)))
    assert not_started == tasks[2:]
    assert sorted(label for label, _ in reported) == ["v/seed-0", "v/seed-1"]  # the two under way
    assert all(result["status"] == "interrupted" and "worker process died" in result["message"]
               for _, result in reported)
