"""The A/B statistics against published figures and a well-kept library, and the findings they lead to."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats  # type: ignore[import-untyped]

from prompthooks import abstats
from prompthooks.abstats import (
    BETTER,
    MEAN,
    OPEN,
    RATE,
    SAME,
    WORSE,
    Sample,
    compare,
    newcombe,
    sample,
    smallest_effect,
    traces_per_arm,
    welch,
)


def rate(successes: int, n: int) -> Sample:
    return sample([1.0] * successes + [0.0] * (n - successes))


def test_sample_is_count_mean_and_sample_variance() -> None:
    assert sample([]) == Sample(0, 0.0, 0.0)
    assert sample([4.0]) == Sample(1, 4.0, 0.0)
    found = sample([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16])  # Welford: no cancellation on large values
    assert found.n == 4 and found.mean == pytest.approx(1e9 + 10) and found.variance == pytest.approx(30.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("sizes", "spreads"), [((40, 25), (3.0, 5.0)), ((5, 300), (1.0, 0.2)), ((2, 2), (1.0, 1.0))])
def test_welch_interval_is_scipys(seed: int, sizes: tuple[int, int], spreads: tuple[float, float]) -> None:
    draw = random.Random(seed)
    main = [draw.gauss(10, spreads[0]) for _ in range(sizes[0])]
    variant = [draw.gauss(11, spreads[1]) for _ in range(sizes[1])]
    found = welch(sample(main), sample(variant))
    expected = stats.ttest_ind(variant, main, equal_var=False).confidence_interval(0.95)
    assert found is not None
    assert (found.low, found.high) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert found.difference == pytest.approx(sum(variant) / len(variant) - sum(main) / len(main))


def test_welch_needs_two_values_per_arm_and_is_exact_for_constant_arms() -> None:
    assert welch(sample([1.0]), sample([1.0, 2.0])) is None
    assert welch(sample([3.0, 3.0]), sample([5.0, 5.0, 5.0])) == abstats.Interval(2.0, 2.0, 2.0)


@pytest.mark.parametrize(
    ("main", "variant", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10: the paper's eight examples (main, variant).
        ((48, 80), (56, 70), (0.0524, 0.3339)),
        ((3, 10), (9, 10), (0.1705, 0.8090)),
        ((2, 7), (6, 7), (0.0582, 0.8062)),
        ((0, 29), (5, 56), (-0.0381, 0.1926)),
        ((0, 20), (0, 10), (-0.1611, 0.2775)),
        ((0, 10), (0, 10), (-0.2775, 0.2775)),
        ((0, 20), (10, 10), (0.6791, 1.0)),
        ((0, 10), (10, 10), (0.6075, 1.0)),
    ],
)
def test_newcombe_interval_matches_the_paper(main: tuple[int, int], variant: tuple[int, int], expected: tuple[float, float]) -> None:
    found = newcombe(rate(*main), rate(*variant))
    assert found is not None
    assert (round(found.low, 4), round(found.high, 4)) == expected


def test_newcombe_stays_sound_where_wald_collapses() -> None:
    found = newcombe(rate(0, 1000), rate(0, 1000))
    assert found is not None and found.low < 0 < found.high  # Wald: [0, 0]
    assert newcombe(rate(0, 0), rate(1, 2)) is None


@pytest.mark.parametrize(
    ("kind", "main", "variant", "difference", "expected"),
    [
        (RATE, Sample(1, 0.5, 0.0), Sample(1, 0.6, 0.0), 0.1, 388),  # Fleiss: 50% against 60%, 5% two-sided, 80% power
        (MEAN, Sample(2, 0.0, 1.0), Sample(2, 0.0, 1.0), 0.5, 63),  # (1.96 + 0.84)^2 * 2 / 0.25
        (MEAN, Sample(2, 0.0, 4.0), Sample(2, 0.0, 4.0), 0.5, 252),
        (RATE, Sample(1, 0.95, 0.0), Sample(1, 0.95, 0.0), 0.1, 141),  # 95% -> 85%: the alternative stays within [0, 1]
        (MEAN, Sample(2, 0.0, 1.0), Sample(2, 0.0, 1.0), 0.0, 0),
    ],
)
def test_traces_per_arm_is_the_textbook_sample_size(kind: str, main: Sample, variant: Sample, difference: float, expected: int) -> None:
    assert traces_per_arm(kind, main, variant, difference) == expected


def test_smallest_effect_is_cohens_small() -> None:
    assert smallest_effect(MEAN, Sample(9, 0.0, 4.0), Sample(9, 0.0, 4.0)) == pytest.approx(0.4)
    assert smallest_effect(RATE, Sample(9, 0.5, 0.0), Sample(9, 0.5, 0.0)) == pytest.approx(0.0993, abs=1e-4)
    assert smallest_effect(RATE, Sample(9, 0.0, 0.0), Sample(9, 0.0, 0.0)) == pytest.approx(math.sin(0.1) ** 2)
    assert smallest_effect(RATE, Sample(9, 1.0, 0.0), Sample(9, 1.0, 0.0)) == pytest.approx(math.sin(0.1) ** 2)  # downwards from 100%


@pytest.mark.parametrize(
    ("kind", "main", "variant", "lower_is_better", "finding"),
    [
        (RATE, rate(500, 1000), rate(650, 1000), False, BETTER),
        (RATE, rate(500, 1000), rate(650, 1000), True, WORSE),  # an error rate: up is worse
        (RATE, rate(550, 1000), rate(550, 1000), False, SAME),  # a true zero difference never names a winner
        (RATE, rate(55, 100), rate(55, 100), False, OPEN),  # ... and with few traces it asks for more
        (RATE, rate(50, 100), rate(52, 100), False, OPEN),
        (RATE, rate(0, 1000), rate(0, 1000), True, SAME),  # no errors in either arm, enough traces to say so
        (MEAN, Sample(400, 10.0, 4.0), Sample(400, 9.0, 4.0), True, BETTER),
        (MEAN, Sample(400, 10.0, 4.0), Sample(400, 10.0, 4.0), False, SAME),
        (MEAN, Sample(1, 10.0, 0.0), Sample(400, 10.0, 4.0), False, OPEN),
        (MEAN, Sample(3, 2.0, 0.0), Sample(3, 2.0, 0.0), False, SAME),  # both constant and equal
    ],
)
def test_compare_findings(kind: str, main: Sample, variant: Sample, lower_is_better: bool, finding: str) -> None:
    assert compare(kind, main, variant, lower_is_better).finding == finding


def test_an_open_question_says_how_many_more_traces_would_answer_it() -> None:
    found = compare(RATE, rate(50, 100), rate(52, 100))
    assert found.detect == pytest.approx(smallest_effect(RATE, rate(50, 100), rate(52, 100)))  # 2 points seen: at least the small effect
    assert found.more == traces_per_arm(RATE, rate(50, 100), rate(52, 100), found.detect) - 100
    larger = compare(RATE, rate(5, 20), rate(10, 20))  # 25 points seen, not yet significant: sized for what is seen
    assert larger.finding == OPEN and larger.detect == pytest.approx(0.25)
    assert compare(MEAN, Sample(1, 1.0, 0.0), Sample(5, 2.0, 1.0)).more is None  # no variance to size a test with yet


def test_more_traces_settle_an_open_question_as_estimated() -> None:
    """Feeding the estimate back: at the suggested size, a true difference of that size is found (most of the time)."""
    main, variant = rate(50, 100), rate(60, 100)
    found = compare(RATE, main, variant)
    assert found.finding == OPEN and found.more is not None
    n = 100 + found.more
    assert compare(RATE, rate(round(0.5 * n), n), rate(round(0.6 * n), n)).finding == BETTER
