"""Interleaved timing: on a shared, noisy machine only figures taken side by side compare.

Each round gives every candidate one short window in turn; a candidate's speed is the median of
its per-round seconds per call, and a comparison of two candidates the median of their per-round
ratios, so a burst of load from elsewhere hits all candidates alike and the median drops it.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Mapping


def time_window(fn: Callable[[], None], window: float, sync: Callable[[], None] | None = None) -> float:
    """Seconds per call of `fn`, called repeatedly for about `window` seconds (at least once).

    `sync` waits for queued device work. On a GPU a call returns once its work is queued, and the
    queue holds thousands of calls: a loop that watched the host clock would queue minutes of work
    in its window. So one call is waited for, to learn about how long one takes, then as many as
    fill the window run back to back, as a training loop runs them, and the time to the end of
    their work counts."""
    if sync is not None:
        start = time.perf_counter()
        fn()
        sync()
        calls = max(1, int(window / (time.perf_counter() - start)))
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        return (time.perf_counter() - start) / calls
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= window:
            return elapsed / calls


def interleave(candidates: Mapping[str, Callable[[], None]], seconds: float, rounds: int,
               warmup: int = 3, sync: Callable[[], None] | None = None) -> dict[str, list[float]]:
    """Seconds per call of each candidate in each of `rounds` windows of `seconds / rounds`
    (`sync`: as for time_window; also after each candidate's warm-up)."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
        if sync is not None:
            sync()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    window = seconds / rounds
    for _ in range(rounds):
        for name, fn in candidates.items():
            samples[name].append(time_window(fn, window, sync))
    return samples


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median over rounds of one candidate's time over another's, each pair taken side by side
    in the same round: a slow spell of the machine hits both of a pair, so it cancels in the
    ratio, where a ratio of two medians would carry it (runs of the same bench agree more)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))
