"""What the training loop keeps up to date beside its own records: report.html (when training
starts, at each checkpoint and at the end, so a page opened mid-run shows the run so far) and,
with `tensorboard = true`, the TensorBoard event files (counterfeit/report/).

They are views: a failure to write one never stops training. It is reported once, on stderr, and
training goes on. A run that fails is recorded as such in metrics.jsonl, so its page says why.
"""

from __future__ import annotations

import contextlib
import sys
from types import TracebackType
from typing import Callable, ContextManager, TypeVar

from tqdm import tqdm

from counterfeit.errors import UserError
from counterfeit.report.page import write_report
from counterfeit.report.tensorboard import TensorBoardLog
from counterfeit.rundir import RunDir
from counterfeit.train.interrupt import TrainingStopped
from counterfeit.train.state import TrainState

T = TypeVar("T")


class RunViews:
    @classmethod
    def of(cls, run: RunDir | None, state: TrainState) -> ContextManager["RunViews | None"]:
        """The views of `run`, kept while the block trains it; None on processes that write nothing."""
        return cls(run, state) if run is not None else contextlib.nullcontext()

    def __init__(self, run: RunDir, state: TrainState) -> None:
        self.run, self.state = run, state
        self.warned: set[str] = set()
        self.tensorboard = (self._guard("TensorBoard events", lambda: TensorBoardLog(run.path))
                            if state.config.tensorboard else None)

    def __enter__(self) -> "RunViews":
        self.refresh(running=True)
        return self

    def refresh(self, running: bool) -> None:
        """`running`: whether training goes on after this (the loop's word: it holds the lock)."""
        if self.tensorboard is not None:
            self._guard("TensorBoard events", self.tensorboard.sync)
        self._guard("report.html", lambda: write_report(self.run.path, running=running))

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        """The last refresh, as the run ends: finished, stopped (a signal, collapse_abort) or failed
        (recorded first). A second Ctrl-C stops at once, writing nothing more."""
        if isinstance(error, Exception) and not isinstance(error, TrainingStopped):
            message = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
            self._guard("metrics.jsonl", lambda: self.run.append_metrics({"step": self.state.step, "failed": message}))
        if error is None or isinstance(error, Exception):
            self.refresh(running=False)
        if self.tensorboard is not None:
            self._guard("TensorBoard events", self.tensorboard.close)

    def _guard(self, what: str, action: Callable[[], T]) -> T | None:
        try:
            return action()
        except Exception as err:  # a view must never end the run it shows
            if what not in self.warned:
                self.warned.add(what)
                tqdm.write(f"warning: could not write {what} of {self.run.path} ({type(err).__name__}: {err}); "
                           "training goes on", file=sys.stderr)
            return None
