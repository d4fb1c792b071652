"""MLflow traces as an A/B report reads them: the search filter, and a trace's outcome decoded (pure, no mlflow).

A trace is linked to the prompt versions it served: ``prompthooks.load`` and ``mlflow.genai.load_prompt``
both set the span attribute ``mlflow.linkedPrompts`` and register the version with MLflow's trace manager,
whose exporter writes the trace tag of that name and an entity association (trace -> ``name/version``).
MLflow's search filter ``prompt = "name/3"`` reads the association on the server (on a SQL store every
filter on that tag does), so a report asks for exactly one arm's traces, a page at a time, and never
downloads a span.

MLflow keeps the association's ``name/version`` in a 36-character column.  A longer one is refused by
PostgreSQL (sqlite does not check lengths), the exporter's background link swallows the error, and
``prompt =`` finds none of those traces.  For such a prompt the filter reads the span
attribute instead (a ``LIKE`` on the stored span, server-side too), and a hit whose trace tag names
other versions is dropped (the pattern's one-character wildcards stand for escaped quotes).

What a search answers per trace (MLflow's V3 ``TraceInfo`` as JSON) is all a report needs: the state
(``OK``, ``ERROR``, ``IN_PROGRESS``), the execution duration, the token usage MLflow aggregates into the
trace metadata, and the assessments (feedback, expectations) logged on it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

PAGE_SIZE: Final = 500  # the most MLflow's trace search answers in one page
ASSOCIATION_LIMIT: Final = 36  # MLflow's entity_associations.destination_id is a VARCHAR(36)
LINKED_PROMPTS: Final = "mlflow.linkedPrompts"  # the trace tag and span attribute (MLflow's TraceTagKey / SpanAttributeKey)
TOKEN_USAGE: Final = "mlflow.trace.tokenUsage"  # MLflow's TraceMetadataKey.TOKEN_USAGE
TOKEN_KINDS: Final = ("input_tokens", "output_tokens", "total_tokens")
OK: Final = "OK"
ERROR: Final = "ERROR"
# MLflow's CategoricalRating, what its judges answer: a yes/no feedback counts as a rate, as true/false does.
CATEGORICAL: Final = {"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0}


class Feedback(NamedTuple):
    value: float
    binary: bool  # from a boolean or a yes/no answer: a rate, not a mean


class TraceOutcome(NamedTuple):
    """What one trace says about the arm that served it."""

    trace_id: str
    state: str  # OK, ERROR, IN_PROGRESS (or STATE_UNSPECIFIED)
    duration_ms: float | None
    tokens: dict[str, float]  # input_tokens, output_tokens, total_tokens, where the trace records them
    feedback: dict[str, Feedback]  # per assessment name: the mean of its valid values on this trace


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def by_span(name: str, number: int) -> bool:
    """Whether MLflow cannot hold this version's trace links in its association column (see the module's docstring)."""
    return len(f"{name}/{number}") > ASSOCIATION_LIMIT


def link_filter(name: str, number: int, start_ms: int | None, end_ms: int | None) -> str:
    """The traces linked to MLflow version ``number`` of prompt ``name``, started within the window."""
    if by_span(name, number):
        # As stored in the span's JSON: {\"name\": \"NAME\", \"version\": \"3\"}; "__" matches each \" on any SQL dialect.
        clauses = [f"span.attributes.`{LINKED_PROMPTS}` LIKE '%__name__: __{name}__, __version__: __{number}__}}%'"]
    else:
        clauses = [f"prompt = {_quote(f'{name}/{number}')}"]
    if start_ms is not None:
        clauses.append(f"trace.timestamp_ms >= {start_ms}")
    if end_ms is not None:
        clauses.append(f"trace.timestamp_ms < {end_ms}")
    return " AND ".join(clauses)


def links(document: Mapping[str, Any], name: str, number: int) -> bool:
    """Whether a trace's ``mlflow.linkedPrompts`` tag names this version (a trace without the tag is taken at its span's word)."""
    tags = document.get("tags")
    raw = tags.get(LINKED_PROMPTS) if isinstance(tags, dict) else None
    if raw is None:
        return True
    try:
        linked = json.loads(raw)
    except (TypeError, ValueError):
        return True
    return isinstance(linked, list) and {"name": name, "version": str(number)} in linked


def request_ms(document: Mapping[str, Any]) -> int | None:
    """A trace's start (``request_time``, a protobuf Timestamp as RFC 3339 JSON: ``2026-12-07T01:51:31.998Z``) in ms."""
    raw = document.get("request_time")
    if not isinstance(raw, str) or not raw.endswith("Z"):
        return None
    whole, _, fraction = raw[:-1].partition(".")
    try:
        seconds = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()
        return int(seconds) * 1000 + (int(fraction[:3].ljust(3, "0")) if fraction else 0)
    except ValueError:
        return None


def duration_ms(raw: object) -> float | None:
    """A protobuf Duration as JSON (``"0.172s"``) in milliseconds; a number is taken as milliseconds already."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str) and raw.endswith("s"):
        try:
            return float(raw[:-1]) * 1000
        except ValueError:
            return None
    return None


def feedback_value(raw: object) -> Feedback | None:
    """A feedback value a mean can be taken of: a number, a boolean, or yes/no; anything else is None."""
    if isinstance(raw, bool):
        return Feedback(1.0 if raw else 0.0, True)
    if isinstance(raw, (int, float)):
        return Feedback(float(raw), False)
    if isinstance(raw, str) and raw.strip().lower() in CATEGORICAL:
        return Feedback(CATEGORICAL[raw.strip().lower()], True)
    return None


def _tokens(metadata: Mapping[str, Any]) -> dict[str, float]:
    try:
        usage = json.loads(metadata.get(TOKEN_USAGE) or "{}")
    except (TypeError, ValueError):
        return {}
    if not isinstance(usage, dict):
        return {}
    return {kind: float(usage[kind]) for kind in TOKEN_KINDS if isinstance(usage.get(kind), (int, float)) and not isinstance(usage.get(kind), bool)}


def _feedback(assessments: object) -> dict[str, Feedback]:
    """Each feedback name's mean on this trace, over its valid values (an overridden one is ``valid: false``).

    Expectations (ground truth, not an outcome), feedback that failed (an ``error``, no value) and values no
    mean can be taken of (free text) are left out.
    """
    found: dict[str, list[Feedback]] = {}
    for item in assessments if isinstance(assessments, list) else []:
        if not isinstance(item, dict) or item.get("valid") is False or not isinstance(item.get("feedback"), dict):
            continue
        value = feedback_value(item["feedback"].get("value"))
        name = item.get("assessment_name")
        if value is not None and isinstance(name, str):
            found.setdefault(name, []).append(value)
    return {name: Feedback(sum(value.value for value in values) / len(values), all(value.binary for value in values)) for name, values in found.items()}


def outcome(document: Mapping[str, Any]) -> TraceOutcome:
    """One trace of a search's answer (V3 ``TraceInfo`` as JSON) as an outcome."""
    metadata = document.get("trace_metadata")
    return TraceOutcome(
        str(document.get("trace_id", "")),
        str(document.get("state", "STATE_UNSPECIFIED")),
        duration_ms(document.get("execution_duration")),
        _tokens(metadata if isinstance(metadata, dict) else {}),
        _feedback(document.get("assessments")),
    )
