"""Where the runs execute: worker processes on this machine (`local`), or Ray tasks on a local
Ray instance or a cluster (`ray`). Both hand each RunTask to `execute` and report each result as
it arrives; neither schedules anything itself beyond keeping at most `workers` runs in flight.

Every run uses the experiment's torch threads, set in the process that runs it before training.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Sequence

from counterfeit.errors import UserError
from counterfeit.experiments.execute import RunTask, execute

OnResult = Callable[[RunTask, dict[str, Any]], None]
RAY_EXTRA = "pip install 'counterfeit[ray]'"


def run_local(tasks: Sequence[RunTask], workers: int, on_result: OnResult) -> None:
    """`workers` spawned processes (not forked: torch's threads do not survive a fork), reused
    from run to run."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(execute, task): task for task in tasks}
        for future in as_completed(futures):
            on_result(futures[future], _outcome(future))
    finally:
        # On Ctrl-C too: runs not started are dropped; running ones, which got the same Ctrl-C,
        # stop at their next step with a checkpoint and report "interrupted".
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome(future: Future) -> dict[str, Any]:
    try:
        return future.result()
    except BrokenProcessPool:
        return {"status": "interrupted", "message": "its worker process died (killed?)"}
    except KeyboardInterrupt:  # Ctrl-C outside training (evaluation ignores it; imports do not)
        return {"status": "interrupted", "message": "interrupted"}


def _init_worker(parent: int) -> None:
    # Training catches Ctrl-C itself (stop at the next step, checkpointed); elsewhere a worker
    # ignores it, so an evaluation under way finishes and an idle worker survives to report.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    """A worker whose runner was killed (kill -9 leaves it orphaned) exits at once: the same
    command run again resumes its run from the last checkpoint, and must find it free."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError(f"--backend ray: Ray is not installed; install the extra: {RAY_EXTRA}") from None
    return ray


def run_ray(tasks: Sequence[RunTask], workers: int | None, threads: int, address: str | None,
            on_result: OnResult) -> None:
    """Each run a Ray task asking for `threads` CPUs, on a local instance of `workers` x `threads`
    CPUs, or on the cluster at `address` (every node must see the experiment directory, e.g. on a
    shared filesystem, and have counterfeit installed). At most `workers` tasks are in flight
    (on a cluster: all of them unless --workers is given)."""
    ray = require_ray()
    local = {"num_cpus": (workers or 1) * threads} if address is None else {}
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR, **local)
    remote = ray.remote(num_cpus=threads, max_retries=0)(execute)
    waiting, running = list(tasks), {}
    limit = workers or len(waiting)
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                task = waiting.pop(0)
                running[remote.remote(task)] = task
            (ready,), _ = ray.wait(list(running), num_returns=1)
            task = running.pop(ready)
            try:
                result = ray.get(ready)
            except ray.exceptions.RayError as err:  # the task's process died, or it was cancelled
                result = {"status": "interrupted", "message": f"Ray: {type(err).__name__}"}
            on_result(task, result)
    except KeyboardInterrupt:
        for ref in running:
            ray.cancel(ref)
        raise
    finally:
        ray.shutdown()
