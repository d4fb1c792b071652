"""An A/B report from decoded traces: each arm's figures, the findings per metric, the verdict and the next command."""

from __future__ import annotations

import pytest

from prompthooks.abplan import Arm, Plan
from prompthooks.abreport import ArmResult, Metric, arm_result, compare, next_step, parse_metric, prompt_words
from prompthooks.abstats import BETTER, MEAN, OPEN, RATE, SAME, WORSE
from prompthooks.registry.traces import Feedback, TraceOutcome

ENV = "production"
VARIANT = f"{ENV}--b"


def traces(prefix: str, n: int, resolved: float, errors: int = 0, tokens: float | None = None, latency: float = 100.0) -> list[TraceOutcome]:
    """``n`` traces, the first ``errors`` failed, the others with a ``resolved`` feedback at exactly that rate."""
    found = []
    for k in range(n):
        failed = k < errors
        feedback = {} if failed else {"resolved": Feedback(1.0 if int((k + 1) * resolved) > int(k * resolved) else 0.0, True)}
        usage = {} if tokens is None else {"total_tokens": tokens + k % 3 - 1}
        found.append(TraceOutcome(f"{prefix}-{k}", "ERROR" if failed else "OK", latency + k % 7, usage, feedback))
    return found


def arms(main: list[TraceOutcome], variant: list[TraceOutcome]) -> tuple[Plan, list[ArmResult]]:
    plan = Plan("assistant", (Arm(ENV, 1, 50), Arm(VARIANT, 2, 50)), True, 0, None, "m-1")
    return plan, [arm_result(ENV, 1, "1.0.0", 50, main), arm_result(VARIANT, 2, "1.0.1", 50, variant)]


def test_an_arm_counts_each_trace_once_and_its_metrics_where_recorded() -> None:
    outcomes = traces("t", 10, 0.5, errors=2, tokens=100.0)
    result = arm_result(ENV, 1, "1.0.0", 50, [*outcomes, outcomes[0], TraceOutcome("late", "IN_PROGRESS", None, {}, {})])
    assert result.traces == 11 and result.unfinished == 1
    assert result.metrics["error_rate"][0] == RATE and result.metrics["error_rate"][1].n == 10 and result.metrics["error_rate"][1].mean == pytest.approx(0.2)
    assert result.metrics["resolved"][0] == RATE and result.metrics["resolved"][1].n == 8
    assert result.metrics["total_tokens"][0] == MEAN and result.metrics["total_tokens"][1].n == 10
    assert "input_tokens" not in result.metrics  # not recorded: not a metric
    assert (result.p50_ms, result.p95_ms) == (102.0, pytest.approx(105.55))
    numeric = arm_result(ENV, 1, None, 50, [TraceOutcome("x", "OK", 5.0, {}, {"score": Feedback(0.5, False)})])
    assert numeric.metrics["score"][0] == MEAN and (numeric.p50_ms, numeric.p95_ms) == (5.0, 5.0)


def test_a_better_variant_is_promoted() -> None:
    plan, results = arms(traces("a", 1000, 0.50), traces("b", 1000, 0.65))
    report = compare(plan, results)
    [verdict] = report.variants
    assert verdict.finding == BETTER
    assert {item.metric: item.comparison.finding for item in verdict.metrics if item.decides} == {"resolved": BETTER, "error_rate": SAME}
    assert prompt_words(report).startswith(f"{VARIANT} is better than {ENV} on resolved (+15.0 pts, 95% CI +")
    assert next_step(ENV, [report]) == (f"prompthooks deploy {ENV} --promote b", "variant b is better, and worse on no deciding metric")


def test_a_true_zero_difference_names_no_winner() -> None:
    plan, results = arms(traces("a", 1000, 0.55, tokens=100.0), traces("b", 1000, 0.55, tokens=100.0))
    report = compare(plan, results)
    assert report.variants[0].finding == SAME
    assert prompt_words(report) == f"no difference between {VARIANT} and {ENV} on error_rate, resolved (each 95% CI within the smallest difference worth detecting)"
    assert next_step(ENV, [report]).command == f"prompthooks deploy {ENV} --end-split"


def test_too_few_traces_ask_for_more() -> None:
    plan, results = arms(traces("a", 60, 0.55), traces("b", 60, 0.55))
    report = compare(plan, results)
    assert report.variants[0].finding == OPEN
    words = prompt_words(report)
    # An error rate near 0% takes the most traces to size (a 1-point rise); the feedback's estimate is beside it.
    assert words == "not enough data yet: about 723 more traces per arm to detect a difference of 1.0 pts in error_rate (333 for 9.8 pts in resolved)"
    assert next_step(ENV, [report]) == (None, f"keep the split serving; run `prompthooks ab {ENV}` again after about 723 more traces per arm")


def test_a_worse_variant_ends_the_split_and_a_trade_off_is_left_to_decide() -> None:
    plan, results = arms(traces("a", 1000, 0.60), traces("b", 1000, 0.45))
    worse = compare(plan, results)
    assert worse.variants[0].finding == WORSE and prompt_words(worse).startswith(f"{ENV} is better than {VARIANT} on resolved (-15.0 pts")
    assert next_step(ENV, [worse]).command == f"prompthooks deploy {ENV} --end-split"
    plan, results = arms(traces("a", 1000, 0.50), traces("b", 1000, 0.65, errors=100))
    mixed = compare(plan, results)
    assert mixed.variants[0].finding == "mixed"
    assert prompt_words(mixed).startswith(f"a trade-off: {VARIANT} is better on resolved")
    assert next_step(ENV, [mixed]) == (
        None,
        f"a trade-off, or verdicts that disagree (above): decide between `prompthooks deploy {ENV} --promote b` and `prompthooks deploy {ENV} --end-split`",
    )


def test_named_metrics_decide_with_their_direction() -> None:
    plan, results = arms(traces("a", 500, 0.5, tokens=120.0), traces("b", 500, 0.5, tokens=100.0))
    by_tokens = compare(plan, results, [Metric("total_tokens", True)])
    assert by_tokens.variants[0].finding == BETTER and [item.metric for item in by_tokens.variants[0].metrics if item.decides] == ["total_tokens"]
    backwards = compare(plan, results, [parse_metric("total_tokens:higher")])
    assert backwards.variants[0].finding == WORSE
    missing = compare(plan, results, [parse_metric("thumbs")])
    assert missing.variants[0].finding == OPEN and missing.notes == (f"{VARIANT} against {ENV}: metric thumbs has no values in {ENV}",)
    assert prompt_words(missing) == "not enough data yet: fewer than 2 traces with thumbs in an arm"


def test_no_feedback_decides_on_errors_alone() -> None:
    plan, results = arms([TraceOutcome(f"a{k}", "OK", 1.0, {}, {}) for k in range(1000)], [TraceOutcome(f"b{k}", "OK", 1.0, {}, {}) for k in range(1000)])
    report = compare(plan, results)
    assert [item.metric for item in report.variants[0].metrics if item.decides] == ["error_rate"] and report.variants[0].finding == SAME


def test_next_step_over_several_prompts_and_ended_splits() -> None:
    plan, results = arms(traces("a", 1000, 0.50), traces("b", 1000, 0.65))
    better = compare(plan, results)
    plan, results = arms(traces("a", 60, 0.5), traces("b", 60, 0.5))
    undecided = compare(plan, results)
    assert next_step(ENV, [better, undecided]).command == f"prompthooks deploy {ENV} --promote b"  # one prompt better, none worse
    ended = better._replace(plan=better.plan._replace(active=False))
    assert next_step(ENV, [ended]) == (None, f"no split serves in {ENV} now: nothing to promote or end")


@pytest.mark.parametrize(
    ("text", "metric"),
    [("resolved", Metric("resolved", False)), ("latency_ms", Metric("latency_ms", True)), ("toxicity:lower", Metric("toxicity", True)),
     ("error_rate:higher", Metric("error_rate", False))],
)
def test_parse_metric(text: str, metric: Metric) -> None:
    assert parse_metric(text) == metric


@pytest.mark.parametrize("text", ["", ":lower", "x:down"])
def test_parse_metric_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--metric"):
        parse_metric(text)
