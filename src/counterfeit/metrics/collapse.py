"""Signs that training has failed or the generator has collapsed, each reported once per run.

- d_wins: D loss and D(G(z)) both near 0 for several log lines in the first half of training:
  D rejects every fake with certainty and G's gradient vanishes. (mlp2 itself sits at D loss
  0.005-0.03 for its first few thousand steps and recovers, hence the strict thresholds.)
- classes_falling: the number of digit classes covered drops well below the run's best.
- low_diversity: the mean pairwise distance of samples falls below a fraction of real data's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

D_WINS_LEVEL = 1e-3     # d_loss and d_fake both below this ...
D_WINS_WINDOW = 5       # ... on this many consecutive log lines
CLASSES_DROP = 2        # classes covered this far below the best so far
DIVERSITY_FRACTION = 0.5  # sample diversity below this fraction of the real data's


@dataclass(frozen=True)
class Signal:
    name: str
    step: int
    message: str

    def record(self) -> dict[str, Any]:
        return {"step": self.step, "collapse": self.name, "message": self.message}


class CollapseMonitor:
    """Reads loss records and in-training evaluations; returns each kind of signal once."""

    def __init__(self, total_steps: int) -> None:
        self.total_steps = total_steps
        self.fired: set[str] = set()
        self.d_wins_streak = 0
        self.best_classes = 0

    def _fire(self, name: str, step: int, message: str) -> list[Signal]:
        if name in self.fired:
            return []
        self.fired.add(name)
        return [Signal(name, step, message)]

    def observe_losses(self, record: Mapping[str, Any]) -> list[Signal]:
        winning = record["d_loss"] < D_WINS_LEVEL and record["d_fake"] < D_WINS_LEVEL
        self.d_wins_streak = self.d_wins_streak + 1 if winning else 0
        if self.d_wins_streak >= D_WINS_WINDOW and record["step"] <= self.total_steps // 2:
            return self._fire("d_wins", record["step"],
                              f"D loss {record['d_loss']:.2g} and D(G(z)) {record['d_fake']:.2g} near 0 "
                              f"for {self.d_wins_streak} log lines: D rejects every fake, G learns nothing")
        return []

    def observe_eval(self, step: int, metrics: Mapping[str, float]) -> list[Signal]:
        signals: list[Signal] = []
        if "classes_covered" not in metrics:  # stacked data logs its modes instead; no signal reads them yet
            return signals
        classes = int(metrics["classes_covered"])
        self.best_classes = max(self.best_classes, classes)
        if classes <= self.best_classes - CLASSES_DROP:
            signals += self._fire("classes_falling", step,
                                  f"classes covered fell to {classes} from {self.best_classes}")
        if metrics["diversity"] < DIVERSITY_FRACTION:
            signals += self._fire("low_diversity", step,
                                  f"sample diversity is {metrics['diversity']:.2f} of real data's "
                                  f"(below {DIVERSITY_FRACTION}): samples look alike")
        return signals
