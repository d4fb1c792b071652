"""An application serving users through ``prompthooks.load`` inside ``@mlflow.trace``, with a synthetic outcome whose
true difference between the arms is known; for the A/B tests and ``bench/ab_bench.py``.

    python -m testing.traffic --serve NAME@ENV [--serve ...] --users N --experiment NAME
        [--resolved ALIAS=P ...] [--errors ALIAS=P ...] [--tokens ALIAS=T ...] [--feedback-every K]
        [--first-user I] [--batch 500] [--mlflow-exporter]

User ``I`` makes one request, to the ``--serve`` prompt ``I % len(serve)``: one trace, in which
``load(NAME, env=ENV, key="user-I")`` picks the arm (the loader links the served version to the trace).
The outcome of the k-th request an arm serves is exact, not drawn: it fails when ``floor((k+1)p)``
exceeds ``floor(kp)`` for its ``--errors`` rate p (so k requests hold floor(kp) failures, spread evenly),
records ``T + (k mod 21) - 10`` total tokens for its ``--tokens`` T, and every ``--feedback-every``-th
request that did not fail gets a human feedback ``resolved``, true by the same rule for its ``--resolved``
rate.  So each arm's true rates are known to within one request, whatever the hash puts where.

Export.  MLflow's own exporter sends four requests per trace (the spans, the trace info, a read, and the
prompt link), which at thousands of traces is minutes of a test server's CPU.  By default the finished
traces, exactly as MLflow's trace manager holds them, go out in batches instead: the spans of up to
``--batch`` traces in one OTLP request (``log_spans``; the server derives each trace's state, duration
and token usage from them), then per trace the link MLflow's exporter makes (``link_prompts_to_trace``
with the versions the loader registered; MLflow has no batch form of it) and the feedback.  Trace tags
(``mlflow.linkedPrompts`` among them) are not sent; the link a search reads is the association.
``--mlflow-exporter`` keeps MLflow's own exporter, unchanged.

Every ``--batch`` traces are sent as they are made (nothing else is held).  Prints one JSON line: per arm alias, the requests served, failed, fed back and resolved.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def _pairs(items: Sequence[str], flag: str) -> dict[str, float]:
    found = {}
    for item in items:
        key, _, value = item.partition("=")
        if not value:
            raise SystemExit(f"{flag} {item!r}: give ALIAS=VALUE")
        found[key] = float(value)
    return found


def hits(k: int, rate: float) -> bool:
    """Whether the k-th event (from 0) of a stream with this rate is a hit: exactly floor(n * rate) hits in the first n."""
    return int((k + 1) * rate) > int(k * rate)


class Held:
    """Finished traces held back from MLflow's exporter, with the prompt versions linked to each."""

    def __init__(self) -> None:
        self.traces: list[tuple[Any, list[Any]]] = []

    def install(self) -> None:
        """Replace MLflow's exporter with one that holds each finished trace (spans, info, linked prompts)."""
        from mlflow.tracing.export import mlflow_v3
        from mlflow.tracing.trace_manager import InMemoryTraceManager

        held = self

        class HoldingExporter(mlflow_v3.MlflowV3SpanExporter):  # type: ignore[misc]
            def export(self, spans: Sequence[Any]) -> None:
                manager = InMemoryTraceManager.get_instance()
                for span in spans:
                    if span._parent is None:
                        finished = manager.pop_trace(span.context.trace_id)
                        if finished is not None:
                            held.traces.append((finished.trace, list(finished.prompts)))

        mlflow_v3.MlflowV3SpanExporter = HoldingExporter

    def send(self, experiment_id: str, feedback: dict[str, tuple[bool, str]], jobs: int) -> None:
        """The spans of the traces held in one request, then each trace's prompt link and its feedback, if any."""
        from mlflow.entities import AssessmentSource, Feedback
        from mlflow.tracing.client import TracingClient

        store = TracingClient().store
        chunk, self.traces = self.traces, []
        if chunk:
            store.log_spans(experiment_id, [span for trace, _ in chunk for span in trace.data.spans])

            def finish(item: tuple[Any, list[Any]]) -> None:
                trace, prompts = item
                trace_id = trace.info.trace_id
                if prompts:
                    store.link_prompts_to_trace(trace_id, prompts)
                if trace_id in feedback:
                    value, user = feedback.pop(trace_id)
                    source = AssessmentSource(source_type="HUMAN", source_id=user)
                    store.create_assessment(Feedback(name="resolved", value=value, trace_id=trace_id, source=source))

            with ThreadPoolExecutor(max_workers=jobs) as pool:
                list(pool.map(finish, chunk))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="append", required=True, metavar="NAME@ENV")
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--first-user", type=int, default=0)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--resolved", action="append", default=[], metavar="ALIAS=P")
    parser.add_argument("--errors", action="append", default=[], metavar="ALIAS=P")
    parser.add_argument("--tokens", action="append", default=[], metavar="ALIAS=T")
    parser.add_argument("--feedback-every", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=4, help="links and feedback in flight at once (a sqlite URI: 1)")
    parser.add_argument("--mlflow-exporter", action="store_true", help="export with MLflow's own exporter, a trace at a time")
    args = parser.parse_args(argv)
    resolved, errors, tokens = _pairs(args.resolved, "--resolved"), _pairs(args.errors, "--errors"), _pairs(args.tokens, "--tokens")

    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"  # each trace is exported (or held) when it ends
    import mlflow
    from mlflow.tracing.constant import SpanAttributeKey

    from prompthooks import load

    held = Held()
    if not args.mlflow_exporter:
        held.install()
    experiment_id = mlflow.set_experiment(args.experiment).experiment_id
    served: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    fed_back: Counter[str] = Counter()
    positive: Counter[str] = Counter()
    feedback: dict[str, tuple[bool, str]] = {}
    serve = [item.split("@", 1) for item in args.serve]

    @mlflow.trace(name="answer")
    def answer(name: str, environment: str, user: str) -> tuple[str, int]:
        prompt = load(name, env=environment, key=user)
        arm = prompt.variant or environment
        k = served[arm]
        served[arm] += 1
        total = int(tokens.get(arm, 100)) + k % 21 - 10
        span = mlflow.get_current_active_span()
        if span is not None:
            span.set_attribute(SpanAttributeKey.CHAT_USAGE, {"input_tokens": total - 20, "output_tokens": 20, "total_tokens": total})
        if hits(k, errors.get(arm, 0.0)):
            failed[arm] += 1
            raise RuntimeError(f"synthetic failure of {arm}")
        return arm, k

    for user in range(args.first_user, args.first_user + args.users):
        name, environment = serve[user % len(serve)]
        try:
            arm, k = answer(name, environment, f"user-{user}")
        except RuntimeError:
            continue
        if k % args.feedback_every == 0:
            trace_id = mlflow.get_last_active_trace_id()
            value = hits(fed_back[arm], resolved.get(arm, 0.5))
            fed_back[arm] += 1
            positive[arm] += value
            if args.mlflow_exporter:
                mlflow.log_feedback(trace_id=trace_id, name="resolved", value=value, source=mlflow.entities.AssessmentSource("HUMAN", f"user-{user}"))
            elif trace_id is not None:
                feedback[trace_id] = (value, f"user-{user}")
        if len(held.traces) >= args.batch:
            held.send(experiment_id, feedback, args.jobs)
    held.send(experiment_id, feedback, args.jobs)
    summary = {arm: {"traces": served[arm], "errors": failed[arm], "feedback": fed_back[arm], "resolved": positive[arm]} for arm in sorted(served)}
    print(json.dumps({"experiment_id": experiment_id, "arms": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
