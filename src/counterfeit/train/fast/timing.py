"""Which of several ways to do the same thing is fastest here, timed with care for a noisy machine."""

from __future__ import annotations

import statistics
import time
from typing import Callable

REPS = 9  # timed calls per candidate, after one warm-up call each: their median counts
Runner = Callable[[], object]


def fastest(kernels: dict[str, Runner], reps: int = REPS) -> str:
    """The name of the kernel with the least time per call: the median of `reps` calls after one
    warm-up call each, the kernels taking turns, so a burst of load elsewhere hits them alike (the
    median, not the best: one lucky call must not decide a choice that is kept for good)."""
    if len(kernels) == 1:
        return next(iter(kernels))
    times: dict[str, list[float]] = {name: [] for name in kernels}
    for kernel in kernels.values():
        kernel()
    for _ in range(reps):
        for name, kernel in kernels.items():
            start = time.perf_counter()
            kernel()
            times[name].append(time.perf_counter() - start)
    return min(times, key=lambda name: statistics.median(times[name]))
