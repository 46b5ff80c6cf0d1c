"""`max_seconds`: a wall-clock budget, for comparisons of runs "at equal time".

The clock is the run's own `seconds` (what metrics.jsonl logs): it starts before VAE pre-training,
so that counts, as do in-training evaluations and checkpoints, and a resumed run goes on from the
seconds its checkpoint recorded. The run stops at the first step boundary once the budget is
spent, with a checkpoint and its final files, as if it had reached `steps`; how many steps it did
is in its records. Under torchrun the processes' clocks differ, so they agree on the stop as on a
Ctrl-C: one step late, all at the same step.
"""

from __future__ import annotations

import time

from counterfeit.train.distributed import Agreement, World


class TimeBudget:
    def __init__(self, max_seconds: float, started: float, world: World) -> None:
        self.max_seconds = max_seconds  # 0: no budget
        self.started = started  # perf_counter() at the run's second 0
        self.agreement = Agreement(world)

    def spent_at(self, seconds: float) -> bool:
        """Whether a run `seconds` in (a checkpoint's, the same on every process) has no time left:
        a resume of a run that stopped on its budget then trains no further step."""
        return 0 < self.max_seconds <= seconds

    def spent(self) -> bool:
        """Called once per step by every process: the agreed answer."""
        if not self.max_seconds:
            return False
        return bool(self.agreement(int(self.spent_at(time.perf_counter() - self.started))))

    def finish(self) -> None:
        self.agreement.finish()
