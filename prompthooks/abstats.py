"""A/B statistics (pure): a variant's difference from the main arm, its 95% interval, and how many traces would settle it.

Textbook methods only, each named where it is used:

- a mean (latency, tokens, a numeric score): Welch's t interval, unequal variances, the t quantile from SciPy;
- a rate (errors, a yes/no or true/false feedback): Newcombe's hybrid score interval for a difference of two
  proportions (Newcombe 1998, method 10; statsmodels' default), which stays sound at 0% and 100%, where the
  Wald interval shrinks to a point;
- how many traces per arm a two-sided test at 5% needs for 80% power: the normal-approximation sample size
  (Fleiss's formula for proportions);
- the smallest difference worth detecting: Cohen's "small" effect, d = 0.2 standard deviations for a mean,
  h = 0.2 (arcsine scale) for a rate.

A variant is called better or worse on a metric only when its interval excludes zero; the same only when its
interval lies within the smallest difference worth detecting; else the question is open, with the number of
traces per arm that would answer it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from statistics import NormalDist
from typing import Final, NamedTuple

CONFIDENCE: Final = 0.95
POWER: Final = 0.80
SMALL_D: Final = 0.2  # Cohen's small effect for a difference of means, in standard deviations
SMALL_H: Final = 0.2  # ... and for a difference of proportions, on the arcsine scale

MEAN: Final = "mean"
RATE: Final = "rate"

BETTER: Final = "better"  # the variant, in the metric's good direction
WORSE: Final = "worse"
SAME: Final = "same"  # the interval lies within the smallest difference worth detecting
OPEN: Final = "open"  # not enough data yet


class Sample(NamedTuple):
    """One metric's values in one arm: a rate is a sample of 0s and 1s, its mean the proportion."""

    n: int
    mean: float
    variance: float  # the sample variance (n - 1 in the denominator); 0.0 below two values


def sample(values: Iterable[float]) -> Sample:
    """Count, mean and sample variance in one pass (Welford's method: no cancellation on large sums)."""
    n, mean, squares = 0, 0.0, 0.0
    for value in values:
        n += 1
        delta = value - mean
        mean += delta / n
        squares += delta * (value - mean)
    return Sample(n, mean, squares / (n - 1) if n > 1 else 0.0)


class Interval(NamedTuple):
    difference: float  # variant minus main
    low: float
    high: float


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _t(confidence: float, df: float) -> float:
    from scipy.special import stdtrit  # type: ignore[import-untyped]  # mlflow's own dependency; only `ab` needs it

    return float(stdtrit(df, 0.5 + confidence / 2))


def welch(main: Sample, variant: Sample, confidence: float = CONFIDENCE) -> Interval | None:
    """Welch's t interval for ``variant.mean - main.mean`` (None below two values in an arm)."""
    if main.n < 2 or variant.n < 2:
        return None
    difference = variant.mean - main.mean
    a, b = main.variance / main.n, variant.variance / variant.n
    if a + b == 0:  # both arms constant: the difference is exact
        return Interval(difference, difference, difference)
    df = (a + b) ** 2 / (a**2 / (main.n - 1) + b**2 / (variant.n - 1))  # Welch-Satterthwaite
    half = _t(confidence, df) * math.sqrt(a + b)
    return Interval(difference, difference - half, difference + half)


def wilson(successes: float, n: int, z: float) -> tuple[float, float]:
    """Wilson's score interval for one proportion."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(main: Sample, variant: Sample, confidence: float = CONFIDENCE) -> Interval | None:
    """Newcombe's hybrid score interval for ``variant`` rate minus ``main`` rate (None for an empty arm)."""
    if main.n == 0 or variant.n == 0:
        return None
    z = _z(confidence)
    p1, p2 = variant.mean, main.mean
    l1, u1 = wilson(p1 * variant.n, variant.n, z)
    l2, u2 = wilson(p2 * main.n, main.n, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Interval(difference, low, high)


def interval(kind: str, main: Sample, variant: Sample, confidence: float = CONFIDENCE) -> Interval | None:
    return newcombe(main, variant, confidence) if kind == RATE else welch(main, variant, confidence)


def smallest_effect(kind: str, main: Sample, variant: Sample) -> float:
    """Cohen's small effect as a difference on the metric's own scale.

    A mean: 0.2 of the arms' pooled standard deviation.  A rate: the proportion h = 0.2 away from the main
    arm's on the arcsine scale (upwards, unless that leaves [0, 1]), so 1 point near 0% and about 10 near 50%.
    """
    if kind == RATE:
        phi = 2 * math.asin(math.sqrt(min(1.0, max(0.0, main.mean))))
        moved = phi + SMALL_H if phi + SMALL_H <= math.pi else phi - SMALL_H
        return abs(math.sin(moved / 2) ** 2 - main.mean)
    return SMALL_D * math.sqrt((main.variance + variant.variance) / 2)


def traces_per_arm(kind: str, main: Sample, variant: Sample, difference: float, confidence: float = CONFIDENCE, power: float = POWER) -> int:
    """Traces per arm a two-sided test needs to detect ``difference`` with ``power`` (normal approximation)."""
    if difference <= 0:
        return 0
    z_alpha, z_beta = _z(confidence), NormalDist().inv_cdf(power)
    if kind == RATE:  # Fleiss, without continuity correction, around the main arm's rate
        p1 = main.mean
        p2 = p1 + difference if p1 + difference <= 1 else max(0.0, p1 - difference)
        if p2 == p1:
            return 0
        pooled = (p1 + p2) / 2
        root = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
        return math.ceil(root**2 / (p2 - p1) ** 2)
    return math.ceil((z_alpha + z_beta) ** 2 * (main.variance + variant.variance) / difference**2)


class Comparison(NamedTuple):
    """A variant against the main arm on one metric."""

    interval: Interval | None  # None: an arm has too few values for one
    finding: str  # BETTER, WORSE, SAME or OPEN
    detect: float  # OPEN: the difference the estimate below is for (the observed one, at least the smallest effect)
    more: int | None  # OPEN: about this many more traces per arm would detect it (None: no variance to go by yet)


def compare(kind: str, main: Sample, variant: Sample, lower_is_better: bool = False, confidence: float = CONFIDENCE) -> Comparison:
    """Better, worse, the same, or open, and what it would take to tell."""
    found = interval(kind, main, variant, confidence)
    smallest = smallest_effect(kind, main, variant)
    if found is not None and (found.low > 0 or found.high < 0):
        improved = (found.difference < 0) if lower_is_better else (found.difference > 0)
        return Comparison(found, BETTER if improved else WORSE, 0.0, 0)
    if found is not None and -smallest <= found.low and found.high <= smallest:
        return Comparison(found, SAME, smallest, 0)
    detect = max(abs(found.difference) if found is not None else 0.0, smallest)
    if found is None and kind == MEAN:  # below two values in an arm: no variance to size a test with
        return Comparison(None, OPEN, detect, None)
    needed = traces_per_arm(kind, main, variant, detect, confidence)
    return Comparison(found, OPEN, detect, max(1, needed - min(main.n, variant.n)))
