"""``prompthooks sync``: mirror every committed lock entry into the MLflow Prompt Registry, exactly once."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from prompthooks import git, promptfile, snapshot, versionlog
from prompthooks.errors import FatalError
from prompthooks.hashing import PromptContent, content_hash
from prompthooks.records import CommittedPrompt
from prompthooks.secrets import display_uri
from prompthooks.services import connection, registration
from prompthooks.services.registration import Origin, Outcome, Progress, Versions
from prompthooks.syncplan import Key, Step

if TYPE_CHECKING:
    from prompthooks.registry.client import MlflowRegistry
    from prompthooks.registry.payload import PromptMetadata


class Options(NamedTuple):
    tracking_uri: str | None
    ref: str
    dry_run: bool
    json: bool
    timeout: float
    jobs: int
    backfill: bool = False


class MetadataChange(NamedTuple):
    name: str
    path: str
    changed: list[str]
    error: str | None  # the registry refused it


def _update_metadata(registry: MlflowRegistry, prompts: Sequence[CommittedPrompt], current: dict[str, PromptMetadata]) -> list[MetadataChange]:
    """Keep every existing prompt's description and prompt-level tags as the front matter at the synced commit says."""
    from prompthooks.registry.payload import Rejected, prompt_metadata

    latest = {prompt.name: prompt for prompt in prompts}  # history is oldest first: the last one wins
    changes: list[MetadataChange] = []
    for name, prompt in sorted(latest.items()):
        if name not in current:  # no version in the registry, or created by this run with its metadata
            continue
        try:
            changed = registry.update_prompt_metadata(name, prompt.entry.path, current[name], prompt_metadata(prompt))
        except Rejected as error:
            changes.append(MetadataChange(name, prompt.entry.path, [], error.message))
            continue
        if changed:
            changes.append(MetadataChange(name, prompt.entry.path, changed, None))
    return changes


def _summary(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counts = {"registered": 0, "would-register": 0, "skipped": 0, "conflict": 0, "rejected": 0}
    for outcome in outcomes:
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    return counts  # "error" only when a composed prompt could not be flattened: earlier documents keep their keys


def _markdown(outcomes: Sequence[Outcome], shown_uri: str, commit: str) -> str:
    lines = [f"### prompthooks sync → `{shown_uri}` at `{commit[:12]}`", "", "| prompt | version | result | MLflow version | detail |", "|---|---|---|---:|---|"]
    for outcome in outcomes:
        entry = outcome.step.prompt.entry
        number = "" if outcome.number is None else str(outcome.number)
        lines.append(f"| `{outcome.step.prompt.name}` | {entry.version} | {outcome.result} | {number} | {outcome.detail} |")
    counts = _summary(outcomes)
    lines += ["", ", ".join(f"{count} {result}" for result, count in counts.items() if count or result != "would-register"), ""]
    return "\n".join(lines)


def _report(outcomes: Sequence[Outcome], options: Options, shown_uri: str, commit: str, metadata: Sequence[MetadataChange] = ()) -> None:
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
            "prompt_metadata": [
                {"name": change.name, "path": change.path, "changed": change.changed, "error": change.error} for change in metadata
            ],
        }
        print(json.dumps(document, indent=2))
    else:
        for outcome in outcomes:
            prompt = outcome.step.prompt
            print(f"{outcome.result} {prompt.name} {prompt.entry.version} ({prompt.entry.path}): {outcome.detail}")
        for change in metadata:
            if change.error is not None:
                print(f"rejected {change.name} ({change.path}): prompt-level metadata: {change.error}")
            else:
                print(f"updated {change.name} ({change.path}): {', '.join(change.changed)}")
        done = [f"{counts['registered']} registered"] if not options.dry_run else [f"{counts['would-register']} to register"]
        errors = f", {counts['error']} error(s)" if counts.get("error") else ""
        print(
            f"prompthooks sync: {', '.join(done)}, {counts['skipped']} skipped, {counts['conflict']} conflict(s), "
            f"{counts['rejected']} rejected{errors} ({shown_uri}, commit {commit[:12]})"
        )
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as file:
            file.write(_markdown(outcomes, shown_uri, commit))


def _unflattenable_outcomes(failures: Sequence[snapshot.Unflattenable]) -> list[Outcome]:
    """Composed prompts that cannot be registered faithfully: reported, never registered."""
    outcomes = []
    for failure in failures:
        prompt = CommittedPrompt(failure.name, failure.entry, PromptContent("", {}))
        outcomes.append(Outcome(Step(prompt, "error", None, failure.reason), "error", None, failure.reason))
    return outcomes


def _history(root: str, ref: str) -> tuple[Versions, dict[str, str]]:
    """Every version that ever appeared in the lock up to ``ref``, oldest first, each from its own commit;
    and the version of each prompt locked at ``ref`` (what git has now)."""
    records = versionlog.all_versions(root, ref)
    current = {name: entry.version for name, entry in versionlog.locked_at(root, ref).items()}
    prompts: list[CommittedPrompt] = []
    unflattenable: list[snapshot.Unflattenable] = []
    found: dict[Key, Origin] = {}
    composed_at: dict[str, snapshot.Snapshot] = {}
    plain = [f"{record.commit.sha}:{record.entry.path}" for record in records if not record.entry.dependencies]
    files = dict(zip(plain, git.read_objects(root, plain), strict=True))  # every version's file, in one read
    with git.open_repo(root) as repo:
        head = git.resolve_commit(repo, ref)
        for record in records:
            if record.entry.dependencies:
                # A composed version: its hash covers other files; read and flatten it as that commit's sync would.
                if record.commit.sha not in composed_at:
                    composed_at[record.commit.sha] = snapshot.read(root, record.commit.sha)
                at = composed_at[record.commit.sha]
                same = [prompt for prompt in at.prompts if prompt.name == record.name and prompt.entry == record.entry]
                unflattenable += [failure for failure in at.unflattenable if failure.name == record.name and failure.entry == record.entry]
                prompts += same
                if same:
                    found[(record.name, record.entry.version)] = Origin(record.commit.sha, record.commit.subject)
                continue
            stored = files[f"{record.commit.sha}:{record.entry.path}"]
            raw = stored[1] if stored is not None else None
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
    return (head, prompts, lambda steps: found, unflattenable), current


def sync(root: str, options: Options) -> int:
    git.require_commits(root, "sync")
    if options.backfill:
        git.require_full_history(root, "sync --backfill")
    deadline = time.monotonic() + options.timeout
    current: dict[str, str] | None = None  # with --backfill: never register history above what git has now
    if options.backfill:
        (commit, prompts, origins_for, unflattenable), current = _history(root, options.ref)
    else:
        commit, prompts, origins_for, unflattenable = registration.at_ref(root, options.ref)
    uri = connection.tracking_uri(root, options.tracking_uri)
    shown_uri = display_uri(uri)
    from prompthooks.registry.client import MlflowRegistry  # mlflow: only the registry commands pay for its import

    progress = Progress({}, {})
    steps: list[Step] = []
    metadata: list[MetadataChange] = []
    with connection.embedded_store_lock(root, uri, deadline):
        try:
            registry = MlflowRegistry(uri, deadline)
            current_metadata = {} if options.dry_run else registry.prompt_metadata(prompt.name for prompt in prompts)
            outcomes = registration.register_missing(registry, prompts, origins_for, options.jobs, options.dry_run, progress, steps, current=current)
            if not options.dry_run:
                with_versions = {outcome.step.prompt.name for outcome in outcomes if outcome.number is not None}
                existed = with_versions & set(current_metadata)  # the others were created by this run, with their metadata
                metadata = _update_metadata(registry, prompts, {name: current_metadata[name] for name in existed})
        except FatalError:
            if progress.numbers:  # say what was registered before the registry failed us
                _report(registration.outcomes(steps, progress, {}, False), options, shown_uri, commit)
            raise
    outcomes += _unflattenable_outcomes(unflattenable)
    _report(outcomes, options, shown_uri, commit, metadata)
    failed = any(outcome.result in ("conflict", "rejected", "error") for outcome in outcomes) or any(change.error for change in metadata)
    return 1 if failed else 0
