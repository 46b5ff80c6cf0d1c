"""Ctrl-C (SIGINT) and SIGTERM stop training at the next step boundary, not inside a step.

A KeyboardInterrupt raised mid-step would leave D updated and G not: a state no checkpoint should
hold. So the handler only sets a flag; the loop finishes the step, saves a checkpoint and stops
(under torchrun every process at the same step, which they agree on: distributed.Agreement).
A second signal while stopping falls back to the default behaviour (stop now).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

from counterfeit.errors import UserError

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingStopped(UserError):
    """Stopped on request with a checkpoint saved; exit code 128 + the signal, as shells do."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class StopRequest:
    signum: int | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_DFL if sig == signal.SIGTERM else signal.default_int_handler)


_deferred = StopRequest()  # a signal that arrived outside training, in a process that defers them


def defer_signals() -> None:
    """For a process that trains on request (an experiment's worker): SIGINT and SIGTERM that
    arrive outside training (while it loads data, evaluates, or waits) are remembered, not acted
    on, and the next training stops at its first step, checkpointed."""
    for sig in SIGNALS:
        signal.signal(sig, lambda signum, frame: setattr(_deferred, "signum", signum))


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Catch SIGINT/SIGTERM for the duration; a no-op off the main thread (Python's rule). A
    signal `defer_signals` kept counts as caught now."""
    request = StopRequest()
    request.signum, _deferred.signum = _deferred.signum, None  # taken once: it stops one training
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {sig: signal.signal(sig, request._handle) for sig in SIGNALS}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
