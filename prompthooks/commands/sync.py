"""``prompthooks sync``: mirror every committed lock entry into the MLflow Prompt Registry, exactly once."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks import git, snapshot, syncplan
from prompthooks.errors import FatalError
from prompthooks.secrets import Redactor, display_uri
from prompthooks.syncplan import REGISTER, SKIP, Step

if TYPE_CHECKING:
    from prompthooks.registry import MlflowRegistry

EMBEDDED_STORE: Final = ".prompthooks"
EMBEDDED_DB: Final = "mlflow.db"


class Options(NamedTuple):
    tracking_uri: str | None
    ref: str
    dry_run: bool
    json: bool
    timeout: float
    jobs: int


class Outcome(NamedTuple):
    step: Step
    result: str  # registered, skipped, conflict, would-register
    number: int | None
    detail: str


def tracking_uri(root: str, flag: str | None) -> str:
    """The flag, else MLFLOW_TRACKING_URI, else a sqlite store in the repository (created, git-ignored)."""
    uri = flag or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    store = os.path.join(root, EMBEDDED_STORE)
    os.makedirs(store, exist_ok=True)
    ignore = os.path.join(store, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w") as file:
            file.write("# prompthooks' local MLflow store: not for git\n*\n")
    return "sqlite:///" + os.path.join(store, EMBEDDED_DB)


def _progress(done: int, total: int, label: str) -> None:
    if sys.stderr.isatty() and total > 10:
        print(f"\r[{done}/{total}] {label:<60.60}", end="" if done < total else "\n", file=sys.stderr, flush=True)


def _register_all(
    registry: MlflowRegistry, steps: Sequence[Step], existing_names: set[str], commit: str, messages: dict[str, str], jobs: int
) -> dict[str, int]:
    """Register in parallel (one version per prompt name, so order within a name never matters)."""
    work = [step for step in steps if step.action == REGISTER]
    numbers: dict[str, int] = {}

    def register(step: Step) -> tuple[str, int]:
        prompt = step.prompt
        message = messages.get(prompt.entry.path, f"prompthooks: {prompt.name} {prompt.entry.version}")
        return prompt.name, registry.register(prompt, commit, message, name_exists=prompt.name in existing_names)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for done, (name, number) in enumerate(pool.map(register, work), start=1):
            numbers[name] = number
            _progress(done, len(work), f"registered {name}")
    return numbers


def _outcomes(steps: Sequence[Step], registered: dict[str, int], winners: dict[str, int], dry_run: bool) -> list[Outcome]:
    outcomes = []
    for step in steps:
        name = step.prompt.name
        if step.action == REGISTER and dry_run:
            outcomes.append(Outcome(step, "would-register", None, "not in the registry"))
        elif step.action == REGISTER and name in winners:
            outcomes.append(Outcome(step, "skipped", winners[name], f"registered concurrently as MLflow version {winners[name]}"))
        elif step.action == REGISTER:
            outcomes.append(Outcome(step, "registered", registered[name], f"as MLflow version {registered[name]}"))
        elif step.action == SKIP:
            outcomes.append(Outcome(step, "skipped", step.number, step.detail))
        else:
            outcomes.append(Outcome(step, "conflict", step.number, step.detail))
    return outcomes


def _summary(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counts = {"registered": 0, "would-register": 0, "skipped": 0, "conflict": 0}
    for outcome in outcomes:
        counts[outcome.result] += 1
    return counts


def _markdown(outcomes: Sequence[Outcome], shown_uri: str, commit: str) -> str:
    lines = [f"### prompthooks sync → `{shown_uri}` at `{commit[:12]}`", "", "| prompt | version | result | MLflow version | detail |", "|---|---|---|---:|---|"]
    for outcome in outcomes:
        entry = outcome.step.prompt.entry
        number = "" if outcome.number is None else str(outcome.number)
        lines.append(f"| `{outcome.step.prompt.name}` | {entry.version} | {outcome.result} | {number} | {outcome.detail} |")
    counts = _summary(outcomes)
    lines += ["", ", ".join(f"{count} {result}" for result, count in counts.items() if count or result != "would-register"), ""]
    return "\n".join(lines)


def _report(outcomes: Sequence[Outcome], options: Options, shown_uri: str, commit: str) -> None:
    counts = _summary(outcomes)
    if options.json:
        document = {
            "tracking_uri": shown_uri,
            "commit": commit,
            "dry_run": options.dry_run,
            "prompts": [
                {
                    "name": outcome.step.prompt.name,
                    "version": outcome.step.prompt.entry.version,
                    "hash": outcome.step.prompt.entry.hash,
                    "path": outcome.step.prompt.entry.path,
                    "result": outcome.result,
                    "mlflow_version": outcome.number,
                    "detail": outcome.detail,
                }
                for outcome in outcomes
            ],
            "summary": counts,
        }
        print(json.dumps(document, indent=2))
    else:
        for outcome in outcomes:
            prompt = outcome.step.prompt
            print(f"{outcome.result} {prompt.name} {prompt.entry.version} ({prompt.entry.path}): {outcome.detail}")
        done = [f"{counts['registered']} registered"] if not options.dry_run else [f"{counts['would-register']} to register"]
        print(f"prompthooks sync: {', '.join(done)}, {counts['skipped']} skipped, {counts['conflict']} conflict(s) ({shown_uri}, commit {commit[:12]})")
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as file:
            file.write(_markdown(outcomes, shown_uri, commit))


def sync(root: str, options: Options) -> int:
    deadline = time.monotonic() + options.timeout
    committed = snapshot.read(root, options.ref)
    uri = tracking_uri(root, options.tracking_uri)
    redact = Redactor.for_tracking(uri)
    shown_uri = display_uri(uri)
    from prompthooks.registry import MlflowRegistry  # mlflow: only sync pays for its import

    try:
        registry = MlflowRegistry(uri, redact, deadline)
        names = [prompt.name for prompt in committed.prompts]
        existing = registry.list_versions(names)
        steps = syncplan.plan(committed.prompts, existing)
        registered: dict[str, int] = {}
        winners: dict[str, int] = {}
        if not options.dry_run:
            to_register = [step.prompt.entry.path for step in steps if step.action == REGISTER]
            with git.open_repo(root) as repo:
                changes = git.last_changes(repo, committed.commit, to_register) if to_register else {}
            messages = {path: info.subject for path, info in changes.items()}
            existing_names = {name for name, versions in existing.items() if versions}
            registered = _register_all(registry, steps, existing_names, committed.commit, messages, options.jobs)
            if registered:
                # MLflow has no conditional create: look again, and undo our version where a concurrent sync won.
                after = registry.list_versions(registered)
                hashes = {step.prompt.name: step.prompt.entry.hash for step in steps}
                winners = syncplan.lost_races(registered, after, hashes)
                for name in winners:
                    registry.delete_version(name, registered[name])
    except FatalError as error:
        error.message = redact(error.message)
        raise
    outcomes = _outcomes(steps, registered, winners, options.dry_run)
    _report(outcomes, options, shown_uri, committed.commit)
    return 1 if any(outcome.result == "conflict" for outcome in outcomes) else 0
