"""``prompthooks sync``: mirror every committed lock entry into the MLflow Prompt Registry, exactly once."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks import git, history, promptfile, snapshot, syncplan
from prompthooks.errors import FatalError
from prompthooks.hashing import content_hash
from prompthooks.secrets import Redactor, display_uri
from prompthooks.snapshot import CommittedPrompt
from prompthooks.syncplan import REGISTER, SKIP, Key, Step

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
    backfill: bool = False


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


class Origin(NamedTuple):
    """Where a version comes from: the commit recorded on it, and its commit message."""

    commit: str
    message: str


def _waves(steps: Sequence[Step]) -> list[list[Step]]:
    """Registrations in rounds with each prompt name at most once, so one prompt's versions keep their order."""
    waves: list[list[Step]] = []
    seen: dict[str, int] = {}
    for step in steps:
        if step.action == REGISTER:
            round_ = seen.get(step.prompt.name, 0)
            seen[step.prompt.name] = round_ + 1
            if round_ == len(waves):
                waves.append([])
            waves[round_].append(step)
    return waves


def _register_all(
    registry: MlflowRegistry, steps: Sequence[Step], existing_names: set[str], origins: dict[Key, Origin], jobs: int
) -> dict[Key, int]:
    numbers: dict[Key, int] = {}
    total = sum(step.action == REGISTER for step in steps)
    created = set(existing_names)

    def register(step: Step) -> tuple[Key, int]:
        prompt = step.prompt
        key = (prompt.name, prompt.entry.version)
        origin = origins[key]
        return key, registry.register(prompt, origin.commit, origin.message, name_exists=prompt.name in created)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for wave in _waves(steps):
            for key, number in pool.map(register, wave):
                numbers[key] = number
                created.add(key[0])
                _progress(len(numbers), total, f"registered {key[0]} {key[1]}")
    return numbers


def _outcomes(steps: Sequence[Step], registered: dict[Key, int], winners: dict[Key, int], dry_run: bool) -> list[Outcome]:
    outcomes = []
    for step in steps:
        key = (step.prompt.name, step.prompt.entry.version)
        if step.action == REGISTER and dry_run:
            outcomes.append(Outcome(step, "would-register", None, "not in the registry"))
        elif step.action == REGISTER and key in winners:
            outcomes.append(Outcome(step, "skipped", winners[key], f"registered concurrently as MLflow version {winners[key]}"))
        elif step.action == REGISTER:
            outcomes.append(Outcome(step, "registered", registered[key], f"as MLflow version {registered[key]}"))
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


def _current(root: str, ref: str) -> tuple[str, list[CommittedPrompt], Callable[[list[Step]], dict[Key, Origin]]]:
    """The lock at ``ref``; every version's origin is that commit, its message the last change to the file."""
    committed = snapshot.read(root, ref)

    def origins(steps: list[Step]) -> dict[Key, Origin]:
        paths = [step.prompt.entry.path for step in steps if step.action == REGISTER]
        with git.open_repo(root) as repo:
            changes = git.last_changes(repo, committed.commit, paths) if paths else {}
        return {
            (step.prompt.name, step.prompt.entry.version): Origin(
                committed.commit, changes[step.prompt.entry.path].subject if step.prompt.entry.path in changes else f"{step.prompt.name} {step.prompt.entry.version}"
            )
            for step in steps
        }

    return committed.commit, committed.prompts, origins


def _history(root: str, ref: str) -> tuple[str, list[CommittedPrompt], Callable[[list[Step]], dict[Key, Origin]]]:
    """Every version that ever appeared in the lock up to ``ref``, oldest first, each from its own commit."""
    records = history.all_versions(root, ref)
    prompts: list[CommittedPrompt] = []
    found: dict[Key, Origin] = {}
    with git.open_repo(root) as repo:
        head = git.resolve_commit(repo, ref)
        for record in records:
            raw = git.blob_at(repo, record.commit.sha, record.entry.path)
            if raw is None:
                raise FatalError(f"{record.entry.path} is locked as {record.name} {record.entry.version} but missing from commit {record.commit.sha[:12]}")
            content = promptfile.load(raw, record.entry.path).content
            if content_hash(content) != record.entry.hash:
                raise FatalError(
                    f"the lock at commit {record.commit.sha[:12]} does not match {record.entry.path} there "
                    f"({record.name} {record.entry.version}); it was committed without the hook",
                )
            prompts.append(CommittedPrompt(record.name, record.entry, content))
            found[(record.name, record.entry.version)] = Origin(record.commit.sha, record.commit.subject)
    return head, prompts, lambda steps: found


def register_missing(
    registry: MlflowRegistry,
    prompts: Sequence[CommittedPrompt],
    origins_for: Callable[[list[Step]], dict[Key, Origin]],
    jobs: int,
    dry_run: bool,
) -> list[Outcome]:
    """Register every version of ``prompts`` the registry lacks, exactly once: sync's work, which deploy shares."""
    existing = registry.list_versions(prompt.name for prompt in prompts)
    steps = syncplan.plan(prompts, existing)
    registered: dict[Key, int] = {}
    winners: dict[Key, int] = {}
    if not dry_run:
        existing_names = {name for name, versions in existing.items() if versions}
        registered = _register_all(registry, steps, existing_names, origins_for(steps), jobs)
        if registered:
            # MLflow has no conditional create: look again, and undo our version where a concurrent sync won.
            after = registry.list_versions(name for name, _ in registered)
            hashes = {(step.prompt.name, step.prompt.entry.version): step.prompt.entry.hash for step in steps}
            winners = syncplan.lost_races(registered, after, hashes)
            for key in winners:
                registry.delete_version(key[0], registered[key])
    return _outcomes(steps, registered, winners, dry_run)


def read_ref(root: str, ref: str) -> tuple[str, list[CommittedPrompt], Callable[[list[Step]], dict[Key, Origin]]]:
    """The verified lock at ``ref``: its commit, its prompts, and where each version to register comes from."""
    return _current(root, ref)


def sync(root: str, options: Options) -> int:
    deadline = time.monotonic() + options.timeout
    commit, prompts, origins_for = (_history if options.backfill else _current)(root, options.ref)
    uri = tracking_uri(root, options.tracking_uri)
    redact = Redactor.for_tracking(uri)
    shown_uri = display_uri(uri)
    from prompthooks.registry import MlflowRegistry  # mlflow: only sync pays for its import

    try:
        registry = MlflowRegistry(uri, redact, deadline)
        outcomes = register_missing(registry, prompts, origins_for, options.jobs, options.dry_run)
    except FatalError as error:
        error.message = redact(error.message)
        raise
    _report(outcomes, options, shown_uri, commit)
    return 1 if any(outcome.result == "conflict" for outcome in outcomes) else 0
