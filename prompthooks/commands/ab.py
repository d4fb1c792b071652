"""``prompthooks ab``: compare the arms of ENV's A/B splits on the MLflow traces linked to each arm's version.

Requests, whatever the number of traces: one search for the prompts split in ENV, one per hundred
deployment records of ENV, one per hundred prompts for their versions' semvers, the experiments (one
search, or one lookup per ``--experiment``), then one trace search per 500 traces of each arm, filtered
on the server by the prompt link and the window.  No span is downloaded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from prompthooks import abplan, abreport, contract
from prompthooks.abplan import Plan, iso
from prompthooks.abreport import ArmResult, MetricComparison, Next, PromptReport
from prompthooks.errors import FatalError
from prompthooks.registry import traces
from prompthooks.services.connection import Session, check_alias, connect
from prompthooks.services.deployments import records

EXIT_USAGE: Final = 2
TEXT: Final = "text"
MARKDOWN: Final = "markdown"
JSON: Final = "json"


class Options(NamedTuple):
    environment: str
    prompts: tuple[str, ...]
    experiments: tuple[str, ...]
    since: str | None  # a duration back from now
    start: str | None  # --from: an ISO 8601 time
    metrics: tuple[str, ...]
    tracking_uri: str | None
    timeout: float
    output: str  # TEXT, MARKDOWN or JSON


class Report(NamedTuple):
    environment: str
    shown_uri: str
    experiments: dict[str, str]
    now_ms: int
    prompts: tuple[PromptReport, ...]
    notes: tuple[str, ...]
    next: Next


def _usage(options: Options, now_ms: int) -> tuple[list[abreport.Metric], int | None]:
    """The metrics named and the window's start, checked before any request (exit 2)."""
    try:
        named = [abreport.parse_metric(text) for text in options.metrics]
        if options.since is not None:
            return named, now_ms - int(abplan.duration_seconds(options.since) * 1000)
        return named, None if options.start is None else abplan.time_ms(options.start)
    except ValueError as error:
        raise FatalError(str(error), exit_code=EXIT_USAGE) from None


def _arm(session: Session, experiments: Sequence[str], plan: Plan, arm: abplan.Arm, semver: str | None, now_ms: int) -> ArmResult:
    end = plan.end_ms if plan.end_ms is not None else now_ms
    if not experiments or (plan.start_ms is not None and plan.start_ms >= end):  # nothing to search: no request
        return abreport.arm_result(arm.alias, arm.number, semver, arm.weight, ())
    filter_string = traces.link_filter(plan.name, arm.number, plan.start_ms, end)
    found = session.registry.traces(experiments, filter_string)
    if traces.by_span(plan.name, arm.number):  # a pattern on the span: each hit checked against the trace's own tag
        found = (document for document in found if traces.links(document, plan.name, arm.number))
    outcomes = (traces.outcome(document) for document in found)
    return abreport.arm_result(arm.alias, arm.number, semver, arm.weight, outcomes)


def report(root: str, options: Options) -> Report:
    check_alias(options.environment)
    now_ms = int(time.time() * 1000)
    named, start = _usage(options, now_ms)
    session = connect(root, options.tracking_uri, options.timeout)
    registry = session.registry
    states = registry.prompts_tagged(contract.split_tag(options.environment))
    plans, notes = abplan.plans(options.environment, states, records(session, options.environment), options.prompts)
    if start is not None:
        plans = [plan._replace(start_ms=start) for plan in plans]
    experiments = registry.experiments(options.experiments) if plans else {}
    versions = registry.list_versions(plan.name for plan in plans) if plans else {}
    semvers = abreport.semvers(plans, {name: {version.number: version.semver or "" for version in found} for name, found in versions.items()})
    prompts = []
    for plan in plans:
        arms = [_arm(session, list(experiments), plan, arm, semvers.get((plan.name, arm.number)) or None, now_ms) for arm in plan.arms]
        prompts.append(abreport.compare(plan, arms, named))
    notes += [note for prompt in prompts for note in prompt.notes]
    return Report(options.environment, session.shown_uri, experiments, now_ms, tuple(prompts), tuple(notes), abreport.next_step(options.environment, prompts))


def ab(root: str, options: Options) -> int:
    found = report(root, options)
    print({JSON: as_json, MARKDOWN: as_markdown}.get(options.output, as_text)(found), end="")
    return 0


# --- rendering --------------------------------------------------------------------------------------


def _window(plan: Plan) -> str:
    start = "every linked trace" if plan.start_ms is None else f"from {iso(plan.start_ms)}"
    end = "to now" if plan.end_ms is None else f"to {iso(plan.end_ms)} (the split ended)"
    since = f" (deployment {plan.record})" if plan.record and plan.start_ms is not None else ""
    return f"{start}{since} {end}" if plan.start_ms is not None else f"{start} {end}"


def _version(arm: ArmResult) -> str:
    return f"{arm.semver or '?'} (MLflow v{arm.number})"


def _shown(arm: ArmResult, name: str) -> str:
    found = arm.metrics.get(name)
    if found is None or found[1].n == 0:
        return "-"
    kind, sample = found
    return abreport.value(kind, sample.mean) + ("" if name in abreport.BUILT_IN else f" (n={sample.n:,})")


def _columns(prompt: PromptReport) -> list[str]:
    names = dict.fromkeys(name for arm in prompt.arms for name in arm.metrics if name not in (abreport.ERROR_RATE, abreport.LATENCY))
    return list(names)


def _arm_rows(prompt: PromptReport) -> list[list[str]]:
    rows = [["arm", "version", "weight", "traces", "error rate", "p50 ms", "p95 ms", *_columns(prompt)]]
    for arm in prompt.arms:
        latency = [f"{value:.0f}" if value is not None else "-" for value in (arm.p50_ms, arm.p95_ms)]
        unfinished = f" ({arm.unfinished:,} unfinished)" if arm.unfinished else ""
        row = [arm.alias, _version(arm), f"{arm.weight}%", f"{arm.traces:,}{unfinished}", _shown(arm, abreport.ERROR_RATE), *latency]
        rows.append(row + [_shown(arm, name) for name in _columns(prompt)])
    return rows


def _aligned(rows: list[list[str]], indent: str) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _finding(item: MetricComparison) -> str:
    words = {"better": "variant better", "worse": "main arm better", "same": "no difference", "open": "open"}[item.comparison.finding]
    return words + (" (decides)" if item.decides else "")


def as_text(found: Report) -> str:
    experiments = ", ".join(f"{name} ({number})" for number, name in found.experiments.items()) or "none"
    lines = [f"prompthooks ab {found.environment}: traces linked to each arm's prompt version in experiments {experiments} ({found.shown_uri})"]
    for prompt in found.prompts:
        lines += ["", f"{prompt.plan.name}: {'split' if prompt.plan.active else 'ended split'}, {_window(prompt.plan)}"]
        lines += _aligned(_arm_rows(prompt), "  ")
        for verdict in prompt.variants:
            lines.append(f"  {verdict.alias} against {prompt.arms[0].alias}:")
            lines += _aligned([[item.metric, abreport.interval_words(item), _finding(item)] for item in verdict.metrics], "    ")
        lines.append(f"  verdict: {abreport.prompt_words(prompt)}")
    if not found.prompts:
        lines.append(f"no split in {found.environment}: no prompt carries {contract.split_tag(found.environment)} and no deployment record split one")
    lines += [f"note: {note}" for note in found.notes]
    lines += ["", f"next: {found.next.command}  ({found.next.reason})" if found.next.command else f"next: {found.next.reason}"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def as_markdown(found: Report) -> str:
    """For a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""
    lines = [f"### A/B report: `{found.environment}`", ""]
    if not found.prompts:
        lines += [f"No split in `{found.environment}`.", ""]
    for prompt in found.prompts:
        total = sum(arm.traces for arm in prompt.arms)
        state = "split" if prompt.plan.active else "ended split"
        lines += [f"**{_cell(prompt.plan.name)}** ({state}, {_window(prompt.plan)}, {total:,} traces)", ""]
        rows = _arm_rows(prompt)
        lines += ["| " + " | ".join(_cell(cell) for cell in rows[0]) + " |", "|---|---|" + "---:|" * (len(rows[0]) - 2)]
        lines += ["| " + " | ".join(_cell(f"`{row[0]}`" if index == 0 else cell) for index, cell in enumerate(row)) + " |" for row in rows[1:]]
        for verdict in prompt.variants:
            lines += ["", f"| metric | `{verdict.alias}` − `{prompt.arms[0].alias}` (95% CI) | finding |", "|---|---|---|"]
            lines += [f"| {_cell(item.metric)} | {_cell(abreport.interval_words(item))} | {_finding(item)} |" for item in verdict.metrics]
        lines += ["", f"**Verdict:** {_cell(abreport.prompt_words(prompt))}", ""]
    lines += [f"> {note}" for note in found.notes] + ([""] if found.notes else [])
    if found.next.command:
        lines += [f"**Next:** {found.next.reason}:", "", "```bash", found.next.command, "```"]
    else:
        lines += [f"**Next:** {found.next.reason}"]
    return "\n".join(lines) + "\n"


def _metric_json(item: MetricComparison) -> dict[str, Any]:
    found = item.comparison.interval
    return {
        "metric": item.metric,
        "kind": item.kind,
        "decides": item.decides,
        "lower_is_better": item.lower_is_better,
        "finding": item.comparison.finding,
        "difference": None if found is None else found.difference,
        "ci95": None if found is None else [found.low, found.high],
        "detect": item.comparison.detect if item.comparison.finding == "open" else None,
        "more_traces_per_arm": item.comparison.more if item.comparison.finding == "open" else None,
    }


def _arm_json(arm: ArmResult) -> dict[str, Any]:
    return {
        "alias": arm.alias,
        "version": arm.semver,
        "mlflow_version": arm.number,
        "weight": arm.weight,
        "traces": arm.traces,
        "unfinished": arm.unfinished,
        "latency_p50_ms": arm.p50_ms,
        "latency_p95_ms": arm.p95_ms,
        "metrics": {
            name: {"kind": kind, "n": sample.n, "mean": sample.mean, "variance": sample.variance} for name, (kind, sample) in arm.metrics.items()
        },
    }


def as_json(found: Report) -> str:
    document = {
        "environment": found.environment,
        "tracking_uri": found.shown_uri,
        "experiments": found.experiments,
        "prompts": [
            {
                "name": prompt.plan.name,
                "active": prompt.plan.active,
                "deployment": prompt.plan.record,
                "from": None if prompt.plan.start_ms is None else iso(prompt.plan.start_ms),
                "to": None if prompt.plan.end_ms is None else iso(prompt.plan.end_ms),
                "arms": [_arm_json(arm) for arm in prompt.arms],
                "variants": [
                    {
                        "alias": verdict.alias,
                        "finding": verdict.finding,
                        "verdict": abreport.verdict_words(prompt.arms[0].alias, verdict),
                        "metrics": [_metric_json(item) for item in verdict.metrics],
                    }
                    for verdict in prompt.variants
                ],
                "verdict": abreport.prompt_words(prompt),
            }
            for prompt in found.prompts
        ],
        "notes": list(found.notes),
        "next": {"command": found.next.command, "reason": found.next.reason},
    }
    return json.dumps(document, indent=2) + "\n"

