"""Where the runs execute: worker processes on this machine (`local`), or Ray tasks on a local
Ray instance or a cluster (`ray`). Both hand each RunTask to `execute` and report each result as
it arrives; neither schedules anything itself beyond keeping at most `workers` runs in flight.

Every run uses the experiment's torch threads, set in the process that runs it before training.
Runs that train on CUDA are spread over the GPUs: a run sees one GPU (CUDA_VISIBLE_DEVICES), so
`device = "auto"` or `"cuda"` is that GPU and not every run's GPU 0. Locally, worker i keeps GPU
i mod G for its life (with more workers than GPUs, several runs share one); on Ray each run asks
for its share of a GPU and Ray picks the GPU.
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

import torch

from counterfeit.errors import UserError
from counterfeit.experiments.execute import RunTask, execute
from counterfeit.train.interrupt import defer_signals

OnResult = Callable[[RunTask, dict[str, Any]], None]
RAY_EXTRA = "pip install 'counterfeit[ray]'"
# How long an interrupted runner waits for its cancelled Ray tasks to end: training stops at its
# next step, with a checkpoint, within seconds; a task still running after this is stuck.
RAY_STOP_WAIT_S = 30.0


def visible_gpus() -> list[str]:
    """The GPUs this machine's runs may be spread over, named as CUDA_VISIBLE_DEVICES names them:
    its entries where it is set, else 0 .. count - 1; none where torch sees no CUDA."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [name.strip() for name in listed.split(",")] if listed is not None else [str(i) for i in range(count)]
    return names[:count]


def uses_cuda(tasks: Sequence[RunTask]) -> bool:
    """Whether a run may train on CUDA where there is a GPU (`auto` does, `cpu` does not)."""
    return any(task.config.device != "cpu" for task in tasks)


def run_local(tasks: Sequence[RunTask], workers: int, on_result: OnResult,
              gpus: Sequence[str] = ()) -> list[RunTask]:
    """`workers` spawned processes (not forked: torch's threads do not survive a fork), reused
    from run to run; with `gpus`, worker i sees only gpus[i mod len(gpus)].

    The workers sit in process groups of their own, so a stop reaches them from the runner alone,
    exactly once: Ctrl-C in a terminal, `kill -INT` or `kill -TERM` of the runner all become one
    SIGTERM to each worker, on which training stops at its next step with a checkpoint (a second
    signal would stop it at once, mid-step).

    A worker that dies (kill -9, out of memory) stops the whole pool: the runs under way are
    reported interrupted, and the runs not started yet are returned, for the same command to start."""
    before = set(multiprocessing.active_children())
    context = multiprocessing.get_context("spawn")
    slots = context.SimpleQueue()  # each worker takes one slot, and with it its GPU
    for slot in range(workers):
        slots.put(gpus[slot % len(gpus)] if gpus else None)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_init_worker, initargs=(os.getpid(), slots))
    running: dict[Future, RunTask] = {}
    try:
        with _terminate_as_interrupt():
            return _feed(tasks, workers, running, lambda task: pool.submit(execute, task),
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
          wait_any: Callable[[list[Any]], Any], report: Callable[[RunTask, Any], None]) -> list[RunTask]:
    """Keep at most `limit` runs in flight (`running`: handle -> task, for the caller to see
    what was under way if this is interrupted) and report each as it ends. Nothing is queued
    beyond them, so after a Ctrl-C no run starts. Returns the runs never started: none, unless
    the local pool broke (a worker died), after which it takes no run."""
    waiting = list(tasks)
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                running[submit(waiting[0])] = waiting[0]
                del waiting[0]
            _report_next(running, wait_any, report)
    except BrokenProcessPool:  # the runs under way end too, each reported as the pool failed it
        while running:
            _report_next(running, wait_any, report)
    return waiting


def _report_next(running: dict[Any, RunTask], wait_any: Callable[[list[Any]], Any],
                 report: Callable[[RunTask, Any], None]) -> None:
    handle = wait_any(list(running))
    report(running.pop(handle), handle)


def _outcome(future: Future) -> dict[str, Any]:
    try:
        return future.result()
    except BrokenProcessPool:  # one worker died: the pool stops every run, started or not
        return {"status": "interrupted", "message": "a worker process died (killed?) and the pool stopped"}
    except KeyboardInterrupt:  # Ctrl-C outside training (evaluation ignores it; imports do not)
        return {"status": "interrupted", "message": "interrupted"}


def _init_worker(parent: int, slots: Any) -> None:
    take_gpu(slots)
    # Out of the terminal's process group: its Ctrl-C goes to the runner, which passes it on as
    # one SIGTERM (run_local). Training catches that itself (stop at the next step, checkpointed);
    # elsewhere a worker keeps it for later, so an evaluation under way finishes, an idle worker
    # survives to report, and a run that starts after it (already queued) stops at once.
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    defer_signals()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def take_gpu(slots: Any) -> None:
    """This worker's slot, and with it the GPU it alone shows the runs it runs (None: all, as given)."""
    gpu = slots.get()
    if gpu is not None:  # before anything in this process has touched CUDA, which reads it once
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu


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


def gpu_share(tasks: Sequence[RunTask], cluster_gpus: float, workers: int | None) -> float:
    """The GPUs each Ray task asks for: none where no run may use CUDA or the cluster has no GPU;
    on a local instance, as many of its GPUs as leave room for `workers` runs at once (at most
    one each); on a cluster, one GPU per run."""
    if not uses_cuda(tasks) or cluster_gpus == 0:
        return 0.0
    return 1.0 if workers is None else min(1.0, cluster_gpus / workers)


def run_ray(tasks: Sequence[RunTask], workers: int | None, threads: int, address: str | None,
            on_result: OnResult) -> list[RunTask]:
    """Each run a Ray task asking for `threads` CPUs (and its share of a GPU, `gpu_share`), on a
    local instance of `workers` x `threads` CPUs and this machine's GPUs, or on the cluster at
    `address` (every node must see the experiment directory, e.g. on a shared filesystem, and have
    counterfeit installed). At most `workers` tasks are in flight (on a cluster: all of them unless
    --workers is given)."""
    ray = require_ray()
    gpus = visible_gpus() if address is None else []
    local = {"num_cpus": (workers or 1) * threads, "num_gpus": len(gpus)} if address is None else {}
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR, **local)
    share = gpu_share(tasks, ray.cluster_resources().get("GPU", 0), workers if address is None else None)
    # A run on a GPU in a process of its own (max_calls=1): CUDA, once started in a worker, keeps
    # the GPU it started on, and Ray would reuse that worker for a run it gives another GPU.
    on_gpu = {"num_gpus": share, "max_calls": 1} if share else {}
    remote = ray.remote(num_cpus=threads, max_retries=0, **on_gpu)(execute)

    def report(task: RunTask, ref: Any) -> None:
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as err:  # the task's process died, or it was cancelled
            result = {"status": "interrupted", "message": f"Ray: {type(err).__name__}"}
        on_result(task, result)

    running: dict[Any, RunTask] = {}
    try:
        with _terminate_as_interrupt():  # kill -TERM of the runner: as Ctrl-C (Ray's own handler exits at once)
            return _feed(tasks, workers or len(tasks), running, remote.remote,
                         lambda refs: ray.wait(refs, num_returns=1)[0][0], report)
    except KeyboardInterrupt:
        _stop_ray_tasks(ray, running, report, on_result)
        raise
    finally:
        ray.shutdown()


def _stop_ray_tasks(ray: Any, running: dict[Any, RunTask], report: Callable[[RunTask, Any], None],
                    on_result: OnResult) -> None:
    """Cancel the tasks under way and report each as it ends, as run_local does: a cancel is a
    KeyboardInterrupt in the task, on which training stops at its next step with a checkpoint and
    the run returns "interrupted". A task still running after RAY_STOP_WAIT_S (stuck where the
    cancel does not reach), or when a second Ctrl-C says to wait no longer, is killed and reported
    interrupted all the same: the runner must not hang, and its last checkpoint is still there."""
    for ref in running:
        ray.cancel(ref)
    cancelled = time.monotonic()
    deadline = cancelled + RAY_STOP_WAIT_S
    try:
        while running:
            ended, _ = ray.wait(list(running), num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            if not ended:
                break
            report(running.pop(ended[0]), ended[0])
    except KeyboardInterrupt:  # a second Ctrl-C: the rest are killed now, not waited for
        pass
    waited = time.monotonic() - cancelled
    for ref, task in running.items():
        ray.cancel(ref, force=True)
        on_result(task, {"status": "interrupted",
                         "message": f"Ray: still running {waited:.0f} s after its cancel; killed"})
    running.clear()
