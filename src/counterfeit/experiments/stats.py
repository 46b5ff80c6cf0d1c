"""Means over seeds with 95% confidence intervals (Student's t), paired differences, verdicts.

Seeds are few (3-10), so the interval uses t, not the normal 1.96: with 3 seeds the half-width is
4.30 standard errors. The t quantile comes from the closed form of Student's distribution for an
integer number of degrees of freedom (Abramowitz & Stegun 26.7.3-4), inverted by bisection; no
scipy needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

LEVEL = 0.95


def t_within(t: float, df: int) -> float:
    """P(|T| <= t) for Student's T with df degrees of freedom (A&S 26.7.3 and 26.7.4)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 1:  # 2/pi [theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ... )], df - 2 powers
        term, total = 1.0, 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
    term, total = 1.0, 1.0  # sin [1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...], df - 2 powers
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return math.sin(theta) * total


def t_quantile(df: int, level: float = LEVEL) -> float:
    """t such that P(|T| <= t) = level: the half-width of a `level` interval in standard errors."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    low, high = 0.0, 1.0
    while t_within(high, df) < level:
        high *= 2
    for _ in range(200):  # bisection to float precision
        middle = (low + high) / 2
        if middle in (low, high):
            break
        low, high = (middle, high) if t_within(middle, df) < level else (low, middle)
    return (low + high) / 2


@dataclass(frozen=True)
class Interval:
    """Mean of n values and its 95% interval (low, high); None when n < 2 (no spread to use)."""

    n: int
    mean: float
    low: float | None
    high: float | None

    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def to_json(self) -> dict[str, float | int | None]:
        return {"n": self.n, "mean": self.mean, "low": self.low, "high": self.high}


def mean_interval(values: Sequence[float]) -> Interval:
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / n
    if n < 2:
        return Interval(n, mean, None, None)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return Interval(n, mean, mean - half, mean + half)


def paired_difference(values: Sequence[float], baseline: Sequence[float]) -> Interval:
    """Interval of the mean of (value - baseline) over pairs from the same seed: the seed's share
    of the variation (the data order, the initial weights) cancels in each pair."""
    if len(values) != len(baseline):
        raise ValueError("paired samples must have the same length")
    return mean_interval([v - b for v, b in zip(values, baseline)])


def verdict(difference: Interval, better: str | None) -> str | None:
    """'better' or 'worse' when the interval of (variant - baseline) excludes 0, on the side that
    `better` ('higher' or 'lower') names; None when the quantity has no better direction."""
    if better is None:
        return None
    if difference.low is None:
        return f"no interval from {difference.n} seed{'s' if difference.n != 1 else ''}"
    if difference.low == difference.high == 0:
        return f"equal at all {difference.n} seeds"
    if not difference.excludes_zero():
        return f"no evidence of a difference at {difference.n} seeds"
    return "better" if (difference.mean > 0) == (better == "higher") else "worse"
