"""Student-t intervals against published quantiles and a computation by hand."""

from __future__ import annotations

import math

import pytest

from counterfeit.experiments.stats import (Interval, mean_interval, paired_difference, t_quantile, t_within,
                                           verdict)


@pytest.mark.parametrize("df, quantile", [  # t_{0.975, df} from any t table (9 digits: NIST/SEMATECH)
    (1, 12.706204736), (2, 4.302652730), (3, 3.182446305), (4, 2.776445105), (5, 2.570581836),
    (9, 2.262157163), (10, 2.228138852), (29, 2.045229642), (30, 2.042272456), (100, 1.983971519),
])
def test_t_quantile_matches_the_tables(df: int, quantile: float) -> None:
    assert t_quantile(df) == pytest.approx(quantile, abs=2e-9)


def test_t_within_closed_forms() -> None:
    assert t_within(1.0, 1) == pytest.approx(0.5)  # Cauchy: P(|T| <= 1) = 2 atan(1) / pi
    assert t_within(math.sqrt(2), 2) == pytest.approx(1 / math.sqrt(2))  # df 2: t / sqrt(2 + t^2)
    assert t_quantile(60, 0.90) == pytest.approx(1.670648865, abs=2e-9)


def test_mean_interval_by_hand() -> None:
    # values 1, 2, 3, 6: mean 3; squared deviations 4 + 1 + 0 + 9 = 14, sd = sqrt(14 / 3);
    # half-width t_{0.975, 3} sd / sqrt(4) = 3.182446305 x 2.160246899 / 2 = 3.437434882
    interval = mean_interval([1.0, 2.0, 3.0, 6.0])
    assert interval.n == 4 and interval.mean == 3.0
    assert interval.low == pytest.approx(3 - 3.437434882, abs=1e-8)
    assert interval.high == pytest.approx(3 + 3.437434882, abs=1e-8)
    assert mean_interval([5.0]) == Interval(1, 5.0, None, None)  # one value: no spread, no interval


def test_paired_difference_by_hand() -> None:
    # differences 2, 1, 4 (-1.5 + 3.5, ...): mean 7/3, sd = sqrt(((-1/3)^2 + (-4/3)^2 + (5/3)^2) / 2)
    # = sqrt(7/3) = 1.527525232; half-width 4.302652730 x 1.527525232 / sqrt(3) = 3.794583034
    interval = paired_difference([3.5, 4.0, 9.0], [1.5, 3.0, 5.0])
    assert interval.mean == pytest.approx(7 / 3)
    assert (interval.low, interval.high) == pytest.approx((7 / 3 - 3.794583034, 7 / 3 + 3.794583034), abs=1e-8)


def test_verdicts() -> None:
    lower_fid = Interval(3, -10.0, -15.0, -5.0)  # variant - baseline, interval below 0
    assert verdict(lower_fid, "lower") == "better" and verdict(lower_fid, "higher") == "worse"
    assert verdict(Interval(3, 2.0, -1.0, 5.0), "higher") == "no evidence of a difference at 3 seeds"
    assert verdict(Interval(1, 2.0, None, None), "higher") == "no interval from 1 seed"
    assert verdict(paired_difference([1, 10, 3], [1, 10, 3]), "higher") == "equal at all 3 seeds"
    assert verdict(lower_fid, None) is None  # a quantity with no better direction gets none
