"""An A/B report (pure): each arm's outcomes from its traces, each variant against the main arm, one verdict per
prompt, and the command to run next for the environment.

Metrics per arm: ``error_rate`` (traces in state ERROR among the finished ones), ``latency_ms`` (execution
time; p50 and p95 shown), ``input_tokens``/``output_tokens``/``total_tokens`` (where traces record usage),
and every feedback name (``mlflow.log_feedback``, judges' and evaluation scores, human labels): the mean
of its values, a rate when they are booleans or yes/no.

The verdict is decided on the deciding metrics: those named (``--metric``), else every feedback metric
and ``error_rate``.  Latency and tokens are shown beside them, with intervals, and decide only when named.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, NamedTuple

from prompthooks import abstats
from prompthooks.abplan import Plan, variant_name
from prompthooks.abstats import BETTER, OPEN, RATE, SAME, WORSE, Comparison, Sample
from prompthooks.registry.traces import ERROR, OK, TOKEN_KINDS, TraceOutcome

ERROR_RATE: Final = "error_rate"
LATENCY: Final = "latency_ms"
BUILT_IN: Final = (ERROR_RATE, LATENCY, *TOKEN_KINDS)
LOWER_IS_BETTER: Final = frozenset(BUILT_IN)  # feedback: higher is better, unless named NAME:lower
MIXED: Final = "mixed"
EMPTY: Final = Sample(0, 0.0, 0.0)


class Metric(NamedTuple):
    name: str
    lower_is_better: bool


def parse_metric(text: str) -> Metric:
    """``--metric NAME``, ``NAME:lower`` or ``NAME:higher``; ``ValueError`` for another suffix."""
    name, _, direction = text.partition(":")
    if not name or direction not in ("", "lower", "higher"):
        raise ValueError(f"--metric {text!r}: give a metric name, optionally with :lower or :higher (which direction is better)")
    return Metric(name, name in LOWER_IS_BETTER if direction == "" else direction == "lower")


class ArmResult(NamedTuple):
    alias: str
    number: int
    semver: str | None
    weight: int
    traces: int
    unfinished: int  # neither OK nor ERROR yet
    p50_ms: float | None
    p95_ms: float | None
    metrics: dict[str, tuple[str, Sample]]  # name -> (MEAN or RATE, the arm's sample)


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def arm_result(alias: str, number: int, semver: str | None, weight: int, outcomes: Iterable[TraceOutcome]) -> ArmResult:
    """One arm's figures from its traces (each trace once, by id)."""
    seen: set[str] = set()
    errors: list[float] = []
    latency: list[float] = []
    tokens: dict[str, list[float]] = {kind: [] for kind in TOKEN_KINDS}
    feedback: dict[str, list[float]] = {}
    binary: dict[str, bool] = {}
    unfinished = 0
    for outcome in outcomes:
        if outcome.trace_id in seen:  # a page boundary that moved while paging
            continue
        seen.add(outcome.trace_id)
        if outcome.state in (OK, ERROR):
            errors.append(1.0 if outcome.state == ERROR else 0.0)
            if outcome.duration_ms is not None:
                latency.append(outcome.duration_ms)
        else:
            unfinished += 1
        for kind, count in outcome.tokens.items():
            tokens[kind].append(count)
        for name, given in outcome.feedback.items():
            feedback.setdefault(name, []).append(given.value)
            binary[name] = binary.get(name, True) and given.binary
    metrics: dict[str, tuple[str, Sample]] = {ERROR_RATE: (RATE, abstats.sample(errors))}
    if latency:
        metrics[LATENCY] = (abstats.MEAN, abstats.sample(latency))
    metrics.update({kind: (abstats.MEAN, abstats.sample(values)) for kind, values in tokens.items() if values})
    metrics.update({name: (RATE if binary[name] else abstats.MEAN, abstats.sample(values)) for name, values in sorted(feedback.items())})
    p50, p95 = _percentiles(latency)
    return ArmResult(alias, number, semver, weight, len(seen), unfinished, p50, p95, metrics)


class MetricComparison(NamedTuple):
    metric: str
    kind: str
    lower_is_better: bool
    decides: bool
    comparison: Comparison


class VariantVerdict(NamedTuple):
    alias: str
    finding: str  # BETTER, WORSE, MIXED, SAME or OPEN, on the deciding metrics
    metrics: tuple[MetricComparison, ...]

    def deciding(self, *findings: str) -> list[MetricComparison]:
        return [item for item in self.metrics if item.decides and item.comparison.finding in findings]


class PromptReport(NamedTuple):
    plan: Plan
    arms: tuple[ArmResult, ...]  # the main arm first
    variants: tuple[VariantVerdict, ...]
    notes: tuple[str, ...]


def _deciding(main: ArmResult, variant: ArmResult, named: Sequence[Metric]) -> dict[str, Metric]:
    if named:
        return {metric.name: metric for metric in named}
    feedback = [name for name in {**main.metrics, **variant.metrics} if name not in BUILT_IN]
    return {name: Metric(name, name in LOWER_IS_BETTER) for name in [*sorted(feedback), ERROR_RATE]}


def _verdict(comparisons: list[MetricComparison]) -> str:
    deciding = [item.comparison.finding for item in comparisons if item.decides]
    if BETTER in deciding:
        return MIXED if WORSE in deciding else BETTER
    if WORSE in deciding:
        return WORSE
    return SAME if deciding and all(finding == SAME for finding in deciding) else OPEN


def compare(plan: Plan, arms: Sequence[ArmResult], named: Sequence[Metric] = ()) -> PromptReport:
    """Every variant against the main arm, on every metric both have, and its verdict on the deciding ones."""
    main, *others = arms
    verdicts: list[VariantVerdict] = []
    notes: list[str] = []
    for variant in others:
        deciding = _deciding(main, variant, named)
        comparisons: list[MetricComparison] = []
        for name in dict.fromkeys([*main.metrics, *variant.metrics, *deciding]):
            kind = (main.metrics.get(name) or variant.metrics.get(name) or (abstats.MEAN, EMPTY))[0]
            main_sample, variant_sample = main.metrics.get(name, (kind, EMPTY))[1], variant.metrics.get(name, (kind, EMPTY))[1]
            if name in deciding and (main_sample.n == 0 or variant_sample.n == 0):
                notes.append(f"{variant.alias} against {main.alias}: metric {name} has no values in " + (main.alias if main_sample.n == 0 else variant.alias))
            lower = deciding[name].lower_is_better if name in deciding else name in LOWER_IS_BETTER
            found = abstats.compare(kind, main_sample, variant_sample, lower)
            comparisons.append(MetricComparison(name, kind, lower, name in deciding, found))
        verdicts.append(VariantVerdict(variant.alias, _verdict(comparisons), tuple(comparisons)))
    return PromptReport(plan, tuple(arms), tuple(verdicts), tuple(notes))


# --- words ------------------------------------------------------------------------------------------


def value(kind: str, number: float) -> str:
    return f"{number:.1%}" if kind == RATE else f"{number:.4g}"


def difference(kind: str, number: float) -> str:
    return f"{number * 100:+.1f} pts" if kind == RATE else f"{number:+.4g}"


def interval_words(item: MetricComparison) -> str:
    found = item.comparison.interval
    if found is None:
        return "no interval yet"
    return f"{difference(item.kind, found.difference)}, 95% CI {difference(item.kind, found.low)} to {difference(item.kind, found.high)}"


def _metrics_words(items: list[MetricComparison]) -> str:
    return " and ".join(f"{item.metric} ({interval_words(item)})" for item in items)


def _open_words(verdict: VariantVerdict) -> str:
    pending = verdict.deciding(OPEN)
    if not pending:
        return "not enough data yet: no metric to decide on (log feedback on the traces, or name one with --metric)"
    unsized = [item for item in pending if item.comparison.more is None]
    if unsized:
        return f"not enough data yet: fewer than 2 traces with {unsized[0].metric} in an arm"
    first, *others = sorted(pending, key=lambda item: -(item.comparison.more or 0))
    words = f"not enough data yet: about {first.comparison.more:,} more traces per arm to detect a difference of {_size(first)} in {first.metric}"
    return words + (f" ({'; '.join(f'{item.comparison.more:,} for {_size(item)} in {item.metric}' for item in others)})" if others else "")


def _size(item: MetricComparison) -> str:
    return difference(item.kind, item.comparison.detect).lstrip("+")


def verdict_words(main: str, verdict: VariantVerdict) -> str:
    """The one line a variant's verdict reads as."""
    if verdict.finding == BETTER:
        return f"{verdict.alias} is better than {main} on {_metrics_words(verdict.deciding(BETTER))}"
    if verdict.finding == WORSE:
        return f"{main} is better than {verdict.alias} on {_metrics_words(verdict.deciding(WORSE))}"
    if verdict.finding == MIXED:
        return (
            f"a trade-off: {verdict.alias} is better on {_metrics_words(verdict.deciding(BETTER))} "
            f"but worse on {_metrics_words(verdict.deciding(WORSE))}"
        )
    if verdict.finding == SAME:
        names = ", ".join(item.metric for item in verdict.deciding(SAME))
        return f"no difference between {verdict.alias} and {main} on {names} (each 95% CI within the smallest difference worth detecting)"
    return _open_words(verdict)


def prompt_words(report: PromptReport) -> str:
    main = report.arms[0].alias
    return "; ".join(verdict_words(main, verdict) for verdict in report.variants)


class Next(NamedTuple):
    command: str | None  # None: nothing to run yet (or the choice is the reader's)
    reason: str


def next_step(environment: str, reports: Sequence[PromptReport]) -> Next:
    """What to run next for the environment, from every prompt's verdict (a promote moves every prompt of the variant)."""
    live = [report for report in reports if report.plan.active]
    if not live:
        return Next(None, f"no split serves in {environment} now: nothing to promote or end")
    verdicts = [verdict for report in live for verdict in report.variants]
    findings = {verdict.finding for verdict in verdicts}
    winners = sorted({variant_name(environment, verdict.alias) for verdict in verdicts if verdict.finding in (BETTER, MIXED)})
    promote = f"prompthooks deploy {environment} --promote"
    end = f"prompthooks deploy {environment} --end-split"
    if winners and (MIXED in findings or WORSE in findings or len(winners) > 1):
        options = " or ".join(f"`{promote} {name}`" for name in winners)
        return Next(None, f"a trade-off, or verdicts that disagree (above): decide between {options} and `{end}`")
    if winners:
        return Next(f"{promote} {winners[0]}", f"variant {winners[0]} is better, and worse on no deciding metric")
    if WORSE in findings:
        return Next(end, f"the main arm ({environment}) is better")
    if findings == {SAME}:
        return Next(end, "no arm is better: end the split and keep the main arm")
    more = max((item.comparison.more or 0 for verdict in verdicts for item in verdict.deciding(OPEN)), default=0)
    return Next(None, f"keep the split serving; run `prompthooks ab {environment}` again after about {more:,} more traces per arm")


def semvers(plans: Sequence[Plan], versions: Mapping[str, Mapping[int, str]]) -> dict[tuple[str, int], str]:
    """(prompt, MLflow version) -> semver, for the arms' versions the registry tags."""
    return {(plan.name, arm.number): versions[plan.name][arm.number] for plan in plans for arm in plan.arms if arm.number in versions.get(plan.name, {})}
