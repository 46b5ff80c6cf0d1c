"""What the training loop calls: a cheap evaluation every `eval_every` steps into metrics.jsonl,
collapse signals (logged, warned once, optionally stopping the run), and metrics.png at the end.
The evaluation uses the evaluator of the run's data; data without one logs no metrics (one warning
at the start) rather than being judged by a network trained on other data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from torch import nn
from tqdm import tqdm

from counterfeit.config import Config
from counterfeit.data.dataset import Dataset
from counterfeit.data.labels import LABEL_SOURCES
from counterfeit.metrics.collapse import CollapseMonitor, Signal
from counterfeit.metrics.conditional import class_accuracy
from counterfeit.metrics.evaluate import real_data
from counterfeit.metrics.evaluator_store import find_evaluator, require_evaluator, train_command
from counterfeit.metrics.features import extract
from counterfeit.metrics.registry import FAST, compute
from counterfeit.sampling import generate
from counterfeit.sampling.labels import balanced_labels
from counterfeit.seeds import Stream, stream_seed
from counterfeit.train.cadence import due
from counterfeit.viz.metric_plots import plot_eval_metrics

Append = Callable[[dict[str, Any]], None]
StopWhen = Callable[[dict[str, Any]], bool]  # an eval record -> whether the run may end here
EVAL_N = 2000  # samples per in-training evaluation (and reference/held-out images for its floor)
# Stacked MNIST: a tenth of eval's 26,000, to stay cheap (7,800 channels to classify); its floor is
# the same count of fresh real stacked images, since the mode metrics depend on the count.
STACKED_EVAL_N = 2600


class TrainingWatch:
    def __init__(self, config: Config, dataset: Dataset, quiet: bool, stop_when: StopWhen | None = None) -> None:
        """`stop_when` (e.g. `bench --to-quality`'s target) ends the run after an eval it accepts; it
        needs the data's evaluator (a one-line error without it, before any work), else no eval
        would ever happen and the run would train to its end for nothing."""
        self.config, self.quiet, self.stop_when = config, quiet, stop_when
        self.monitor = CollapseMonitor(config.steps)
        self.stop = False  # set when a signal fires and config.collapse_abort asks to stop, or stop_when holds
        command = train_command(config.data, config.invert, config.skip_bad)
        if not config.eval_every:
            self.evaluator = None
        elif stop_when is not None:
            self.evaluator = require_evaluator(dataset, command)
        else:
            self.evaluator = find_evaluator(dataset)
        self.n = STACKED_EVAL_N if dataset.channels > 1 else EVAL_N
        if self.evaluator is not None:
            self.real = real_data(dataset, self.evaluator, self.n, config.seed)
        elif config.eval_every and not quiet:
            build = (f"build one with `{command}`"
                     if dataset.labels is not None else  # the evaluator is a classifier: that command would fail
                     f"one is trained from labelled data ({LABEL_SOURCES})")
            tqdm.write(f"warning: no evaluator for {dataset.source}, so this run logs no metrics (eval_every "
                       f"is ignored); {build}", file=sys.stderr)

    def replay(self, records: list[dict[str, Any]]) -> None:
        """On resume: the monitor's state (streaks, best so far, signals already fired) rebuilt
        from the run's records up to its checkpoint, in the order the loop observed them."""
        for record in records:
            if "d_loss" in record:
                self.monitor.observe_losses(record)
            elif "eval_n" in record:
                self.monitor.observe_eval(record["step"], record)

    def on_losses(self, record: dict[str, Any], append: Append) -> None:
        self._report(self.monitor.observe_losses(record), append)

    def on_step(self, step: int, generator: Callable[[], nn.Module], append: Append) -> None:
        """Evaluates `generator()` on `eval_every` steps and the last; `append` writes a metrics.jsonl
        record. G is asked for only then: the average's batch-norm statistics cost G forwards."""
        every = self.config.eval_every
        if self.evaluator is not None and due(step, every, self.config.steps):
            # The same seeded noise every time, so the curve follows G and not the draw; a
            # conditional run's sample is class-balanced (digits 0-9 in turn).
            labels = balanced_labels(self.n) if self.config.conditional else None
            images = generate(generator(), self.config, self.n, stream_seed(self.config.seed, Stream.WATCH), labels)
            sample = extract(self.evaluator, images)
            metrics = compute(sample, self.real.reference, FAST)
            if labels is not None:  # conditional: how often the evaluator reads the digit asked for
                accuracy = class_accuracy(sample.probs.argmax(1).numpy(), labels.numpy())
                metrics.update(cond_accuracy=accuracy["cond_accuracy"],
                               cond_accuracy_min=accuracy["cond_accuracy_min"])
            floor = {key: self.real.floor[key] for key in metrics if key in self.real.floor}
            record = {"step": step, "eval_n": self.n, **metrics, "floor": floor}  # the floor: for the report
            append(record)
            self._report(self.monitor.observe_eval(step, metrics), append)
            self.stop = self.stop or (self.stop_when is not None and self.stop_when(record))

    def _report(self, signals: list[Signal], append: Append) -> None:
        for signal in signals:
            append(signal.record())
            if not self.quiet:
                tqdm.write(f"warning: possible collapse at step {signal.step}: {signal.message}",
                           file=sys.stderr)
            self.stop = self.stop or self.config.collapse_abort

    def finish(self, records: list[dict[str, Any]], path: Path) -> None:
        if self.evaluator is not None:
            plot_eval_metrics(records, self.real.floor, path, title=f"{self.config.preset}: metrics "
                              f"({self.n} samples; dashed: held-out real)", evaluator=self.evaluator.label)
