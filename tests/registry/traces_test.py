"""A trace search's answer, decoded: state, duration, token usage and feedback, as an MLflow 3 server sends them."""

from __future__ import annotations

from typing import Any

import pytest

from prompthooks.registry.traces import (
    Feedback,
    TraceOutcome,
    by_span,
    duration_ms,
    feedback_value,
    link_filter,
    links,
    outcome,
    request_ms,
)

# One trace of a real ``POST /api/3.0/mlflow/traces/search`` answer (MLflow 3.17 server), trimmed.
ANSWER: dict[str, Any] = {
    "trace_id": "tr-847a71a506ec47a15f9b014c7ab9ac65",
    "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "1"}},
    "request_time": "2026-12-07T01:51:32Z",
    "execution_duration": "0.172s",
    "state": "OK",
    "trace_metadata": {
        "mlflow.trace.tokenUsage": '{"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}',
        "mlflow.user": "root",
    },
    "assessments": [
        {"assessment_name": "helpful", "source": {"source_type": "HUMAN", "source_id": "u"}, "feedback": {"value": True}, "valid": True},
        {"assessment_name": "score", "source": {"source_type": "CODE", "source_id": "default"}, "feedback": {"value": 0.7}, "valid": True},
        {"assessment_name": "judge", "source": {"source_type": "LLM_JUDGE", "source_id": "gpt"}, "feedback": {"value": "yes"}, "valid": True},
    ],
    "tags": {"mlflow.linkedPrompts": '[{"name": "probe_p", "version": "1"}]', "mlflow.traceName": "app"},
}


def test_a_search_answer_decodes_to_its_outcome() -> None:
    assert outcome(ANSWER) == TraceOutcome(
        "tr-847a71a506ec47a15f9b014c7ab9ac65",
        "OK",
        172.0,
        {"input_tokens": 10.0, "output_tokens": 5.0, "total_tokens": 15.0},
        {"helpful": Feedback(1.0, True), "score": Feedback(0.7, False), "judge": Feedback(1.0, True)},
    )


def test_a_bare_trace_has_no_tokens_no_feedback() -> None:
    assert outcome({"trace_id": "tr-1", "state": "ERROR"}) == TraceOutcome("tr-1", "ERROR", None, {}, {})
    assert outcome({"trace_id": "tr-2", "trace_metadata": {"mlflow.trace.tokenUsage": "not json"}}).tokens == {}
    assert outcome({"trace_id": "tr-3", "trace_metadata": {"mlflow.trace.tokenUsage": '{"total_tokens": true}'}}).tokens == {}


def test_feedback_left_out_overridden_failed_expectations_and_text() -> None:
    assessments = [
        {"assessment_name": "score", "feedback": {"value": 0.2}, "valid": False},  # overridden by the next one
        {"assessment_name": "score", "feedback": {"value": 0.9}, "valid": True},
        {"assessment_name": "score", "feedback": {"error": {"error_code": "TIMEOUT"}}},  # a judge that failed
        {"assessment_name": "expected", "expectation": {"value": "Paris"}},
        {"assessment_name": "comment", "feedback": {"value": "too long"}},
        {"assessment_name": "rater", "feedback": {"value": 4}},
        {"assessment_name": "rater", "feedback": {"value": 2}},  # two raters on one trace: their mean
        "not an assessment",
    ]
    assert outcome({"trace_id": "t", "assessments": assessments}).feedback == {"score": Feedback(0.9, False), "rater": Feedback(3.0, False)}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, Feedback(1.0, True)), (False, Feedback(0.0, True)), ("Yes", Feedback(1.0, True)), ("no", Feedback(0.0, True)),
     ("false", Feedback(0.0, True)), (3, Feedback(3.0, False)), (0.25, Feedback(0.25, False)), ("maybe", None), (None, None), ([1], None)],
)
def test_feedback_values(raw: object, expected: Feedback | None) -> None:
    assert feedback_value(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("0.172s", 172.0), ("0s", 0.0), ("12s", 12000.0), (250, 250.0), ("x", None), (None, None), (True, None)])
def test_durations(raw: object, expected: float | None) -> None:
    assert duration_ms(raw) == expected


def test_the_filter_asks_the_server_for_one_arm_in_one_window() -> None:
    assert link_filter("assistant", 3, None, None) == 'prompt = "assistant/3"'
    assert link_filter("a.b-c", 12, 1000, 2000) == 'prompt = "a.b-c/12" AND trace.timestamp_ms >= 1000 AND trace.timestamp_ms < 2000'


def test_a_name_too_long_for_mlflows_association_is_found_by_its_span_attribute() -> None:
    """MLflow keeps a trace's link to NAME/VERSION in a 36-character column: PostgreSQL refuses longer ones."""
    short, long_ = "a" * 32, "a" * 40
    assert not by_span(short, 999) and by_span(short, 1000) and by_span(long_, 1)
    assert link_filter(long_, 7, 5, None) == (
        f"span.attributes.`mlflow.linkedPrompts` LIKE '%__name__: __{long_}__, __version__: __7__}}%' AND trace.timestamp_ms >= 5"
    )


def test_a_span_hit_is_checked_against_the_traces_tag() -> None:
    tag = '[{"name": "a_b", "version": "7"}, {"name": "other", "version": "1"}]'
    assert links({"tags": {"mlflow.linkedPrompts": tag}}, "a_b", 7)
    assert not links({"tags": {"mlflow.linkedPrompts": tag}}, "a.b", 7)  # "_" is a one-character wildcard in LIKE
    assert not links({"tags": {"mlflow.linkedPrompts": tag}}, "a_b", 70)
    assert links({"tags": {}}, "a_b", 7) and links({}, "a_b", 7)  # no tag (spans sent over OTLP): the span's word stands


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-12-07T01:51:32Z", 1796608292000), ("2026-12-07T01:51:31.998Z", 1796608291998), ("2026-12-07T01:51:31.5Z", 1796608291500),
     ("2026-12-07T01:51:31.123456789Z", 1796608291123), ("2026-12-07T01:51:31", None), ("yesterday", None), (None, None)],
)
def test_request_times(raw: object, expected: int | None) -> None:
    assert request_ms({"request_time": raw}) == expected
