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
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from counterfeit.errors import UserError
from counterfeit.experiments.execute import RunTask, execute
from counterfeit.train.interrupt import defer_signals

OnResult = Callable[[RunTask, dict[str, Any]], None]
RAY_EXTRA = "pip install 'counterfeit[ray]'"


def run_local(tasks: Sequence[RunTask], workers: int, on_result: OnResult) -> None:
    """`workers` spawned processes (not forked: torch's threads do not survive a fork), reused
    from run to run.

    The workers sit in process groups of their own, so a stop reaches them from the runner alone,
    exactly once: Ctrl-C in a terminal, `kill -INT` or `kill -TERM` of the runner all become one
    SIGTERM to each worker, on which training stops at its next step with a checkpoint (a second
    signal would stop it at once, mid-step)."""
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))
    running: dict[Future, RunTask] = {}
    try:
        with _terminate_as_interrupt():
            _feed(tasks, workers, running, lambda task: pool.submit(execute, task),
                  lambda futures: next(iter(wait(futures, return_when=FIRST_COMPLETED).done)),
                  lambda task, future: on_result(task, _outcome(future)))
    except KeyboardInterrupt:
        for worker in set(multiprocessing.active_children()) - before:  # the pool's
            _signal(worker.pid, signal.SIGTERM)
        raise
    finally:
        # On a stop too: no further run starts; those under way stop at their next step with a
        # checkpoint, and their "interrupted" is reported here.
        pool.shutdown(wait=True, cancel_futures=True)
        for future, task in running.items():
            if future.done() and not future.cancelled():
                on_result(task, _outcome(future))


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the runner, as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _signal(pid: int | None, signum: int) -> None:
    try:
        if pid is not None:
            os.kill(pid, signum)
    except ProcessLookupError:  # it ended meanwhile
        pass


def _feed(tasks: Sequence[RunTask], limit: int, running: dict[Any, RunTask], submit: Callable[[RunTask], Any],
          wait_any: Callable[[list[Any]], Any], report: Callable[[RunTask, Any], None]) -> None:
    """Keep at most `limit` runs in flight (`running`: handle -> task, for the caller to see
    what was under way if this is interrupted) and report each as it ends. Nothing is queued
    beyond them, so after a Ctrl-C no run starts."""
    waiting = list(tasks)
    while waiting or running:
        while waiting and len(running) < limit:
            task = waiting.pop(0)
            running[submit(task)] = task
        handle = wait_any(list(running))
        report(running.pop(handle), handle)


def _outcome(future: Future) -> dict[str, Any]:
    try:
        return future.result()
    except BrokenProcessPool:  # one worker died: the pool stops every run, started or not
        return {"status": "interrupted", "message": "a worker process died (killed?) and the pool stopped"}
    except KeyboardInterrupt:  # Ctrl-C outside training (evaluation ignores it; imports do not)
        return {"status": "interrupted", "message": "interrupted"}


def _init_worker(parent: int) -> None:
    # Out of the terminal's process group: its Ctrl-C goes to the runner, which passes it on as
    # one SIGTERM (run_local). Training catches that itself (stop at the next step, checkpointed);
    # elsewhere a worker keeps it for later, so an evaluation under way finishes, an idle worker
    # survives to report, and a run that starts after it (already queued) stops at once.
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    defer_signals()
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

    def report(task: RunTask, ref: Any) -> None:
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as err:  # the task's process died, or it was cancelled
            result = {"status": "interrupted", "message": f"Ray: {type(err).__name__}"}
        on_result(task, result)

    running: dict[Any, RunTask] = {}
    try:
        _feed(tasks, workers or len(tasks), running, remote.remote,
              lambda refs: ray.wait(refs, num_returns=1)[0][0], report)
    except KeyboardInterrupt:
        for ref in running:
            ray.cancel(ref)
        raise
    finally:
        ray.shutdown()
