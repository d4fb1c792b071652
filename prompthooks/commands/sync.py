"""``prompthooks sync``: mirror every committed lock entry into the MLflow Prompt Registry, exactly once."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks import git, history, promptfile, snapshot, syncplan
from prompthooks.errors import FatalError
from prompthooks.hashing import content_hash
from prompthooks.secrets import Redactor, display_uri
from prompthooks.snapshot import CommittedPrompt
from prompthooks.syncplan import REGISTER, SKIP, Key, Step

if TYPE_CHECKING:
    from prompthooks.registry import MlflowRegistry, PromptMetadata, Registration, Rejected

EMBEDDED_STORE: Final = ".prompthooks"
EMBEDDED_DB: Final = "mlflow.db"
EMBEDDED_LOCK: Final = "sync.lock"


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
    result: str  # registered, skipped, conflict, rejected, would-register
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
    return embedded_uri(root)


def embedded_uri(root: str) -> str:
    return "sqlite:///" + os.path.join(root, EMBEDDED_STORE, EMBEDDED_DB)


@contextlib.contextmanager
def _embedded_store_lock(root: str, uri: str, deadline: float) -> Iterator[None]:
    """Run one sync at a time on the embedded sqlite store.

    MLflow creates a new sqlite store's schema without a lock, so two syncs on
    a fresh store fail ("table experiment_tags already exists"); sqlite takes
    one writer at a time anyway.  Other stores (a server, PostgreSQL) are not
    serialized: sync is safe to run concurrently there.
    """
    if uri != embedded_uri(root):
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent syncs on one embedded store are unsupported there
        yield
        return
    path = os.path.join(root, EMBEDDED_STORE, EMBEDDED_LOCK)
    with open(path, "a") as file:
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    from prompthooks.registry import EXIT_UNREACHABLE

                    raise FatalError(
                        "another prompthooks sync kept the embedded store busy past the deadline; wait for it, or raise --timeout",
                        path=path,
                        exit_code=EXIT_UNREACHABLE,
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


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


class Progress(NamedTuple):
    """What registering did so far, filled in as it goes, so an aborted run still reports it."""

    numbers: dict[Key, int]
    rejected: dict[Key, Rejected]


def _prepare(steps: Sequence[Step], origins: dict[Key, Origin], rejected: dict[Key, Rejected]) -> dict[Key, Registration]:
    """Every registration built and validated before the first write; a refused one is that prompt's error."""
    from prompthooks.registry import Rejected, registration

    prepared: dict[Key, Registration] = {}
    for step in steps:
        if step.action == REGISTER:
            key = (step.prompt.name, step.prompt.entry.version)
            try:
                prepared[key] = registration(step.prompt, origins[key].commit)
            except Rejected as error:
                rejected[key] = error
    return prepared


def _register_all(
    registry: MlflowRegistry, steps: Sequence[Step], existing_names: set[str], origins: dict[Key, Origin], jobs: int, progress: Progress
) -> None:
    from prompthooks.registry import Rejected

    prepared = _prepare(steps, origins, progress.rejected)
    total = len(prepared)
    created = set(existing_names)
    refused_names: set[str] = set()

    def register(step: Step) -> tuple[Key, int | Rejected]:
        prompt = step.prompt
        key = (prompt.name, prompt.entry.version)
        if key not in prepared or prompt.name in refused_names:  # a later version waits for the refused one
            return key, progress.rejected.get(key) or Rejected(f"not registered: an earlier version of {prompt.name} was refused", path=prompt.entry.path)
        origin = origins[key]
        try:
            return key, registry.register(prompt, origin.commit, origin.message, name_exists=prompt.name in created, prepared=prepared[key])
        except Rejected as error:
            return key, error

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for wave in _waves(steps):
            for key, result in pool.map(register, wave):
                if isinstance(result, Rejected):
                    progress.rejected[key] = result
                    refused_names.add(key[0])
                    continue
                progress.numbers[key] = result
                created.add(key[0])
                _progress(len(progress.numbers), total, f"registered {key[0]} {key[1]}")


def _outcomes(steps: Sequence[Step], progress: Progress, winners: dict[Key, int], dry_run: bool) -> list[Outcome]:
    outcomes = []
    registered, rejected = progress.numbers, progress.rejected
    for step in steps:
        key = (step.prompt.name, step.prompt.entry.version)
        if step.action == REGISTER and key in rejected:
            outcomes.append(Outcome(step, "rejected", None, rejected[key].message))
        elif step.action == REGISTER and dry_run:
            outcomes.append(Outcome(step, "would-register", None, "not in the registry"))
        elif step.action == REGISTER and key in winners:
            outcomes.append(Outcome(step, "skipped", winners[key], f"registered concurrently as MLflow version {winners[key]}"))
        elif step.action == REGISTER and key in registered:
            outcomes.append(Outcome(step, "registered", registered[key], f"as MLflow version {registered[key]}"))
        elif step.action == REGISTER:
            continue  # the run stopped before this one
        elif step.action == SKIP:
            outcomes.append(Outcome(step, "skipped", step.number, step.detail))
        else:
            outcomes.append(Outcome(step, "conflict", step.number, step.detail))
    return outcomes


class MetadataChange(NamedTuple):
    name: str
    path: str
    changed: list[str]
    error: str | None  # the registry refused it


def _update_metadata(registry: MlflowRegistry, prompts: Sequence[CommittedPrompt], current: dict[str, PromptMetadata]) -> list[MetadataChange]:
    """Keep every existing prompt's description and prompt-level tags as the front matter at the synced commit says."""
    from prompthooks.registry import Rejected, prompt_metadata

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
    from prompthooks.hashing import PromptContent

    outcomes = []
    for failure in failures:
        prompt = CommittedPrompt(failure.name, failure.entry, PromptContent("", {}))
        outcomes.append(Outcome(Step(prompt, "error", None, failure.reason), "error", None, failure.reason))
    return outcomes


Source = tuple[str, list[CommittedPrompt], Callable[[list[Step]], dict[Key, Origin]], list[snapshot.Unflattenable]]


def _current(root: str, ref: str) -> Source:
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

    return committed.commit, committed.prompts, origins, committed.unflattenable


def _history(root: str, ref: str) -> Source:
    """Every version that ever appeared in the lock up to ``ref``, oldest first, each from its own commit."""
    records = history.all_versions(root, ref)
    prompts: list[CommittedPrompt] = []
    unflattenable: list[snapshot.Unflattenable] = []
    found: dict[Key, Origin] = {}
    composed_at: dict[str, snapshot.Snapshot] = {}
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
    return head, prompts, lambda steps: found, unflattenable


def register_missing(
    registry: MlflowRegistry,
    prompts: Sequence[CommittedPrompt],
    origins_for: Callable[[list[Step]], dict[Key, Origin]],
    jobs: int,
    dry_run: bool,
    progress: Progress | None = None,
    steps: list[Step] | None = None,
) -> list[Outcome]:
    """Register every version of ``prompts`` the registry lacks, exactly once: sync's work, which deploy shares.

    ``progress`` and ``steps`` are filled in as it goes, so a caller can report what was done before a failure.
    """
    progress = Progress({}, {}) if progress is None else progress
    steps = [] if steps is None else steps
    existing = registry.list_versions((prompt.name for prompt in prompts), jobs)
    steps.extend(syncplan.plan(prompts, existing))
    winners: dict[Key, int] = {}
    if dry_run:
        _prepare(steps, origins_for(steps), progress.rejected)  # what would be refused, without a write
    else:
        existing_names = {name for name, versions in existing.items() if versions}
        _register_all(registry, steps, existing_names, origins_for(steps), jobs, progress)
        registered = progress.numbers
        if registered:
            # MLflow has no conditional create: look again, and undo our version where a concurrent sync won.
            after = registry.list_versions((name for name, _ in registered), jobs)
            hashes = {(step.prompt.name, step.prompt.entry.version): step.prompt.entry.hash for step in steps}
            winners = syncplan.lost_races(registered, after, hashes)
            for key in winners:
                registry.delete_version(key[0], registered[key])
    return _outcomes(steps, progress, winners, dry_run)


def read_ref(root: str, ref: str) -> tuple[str, list[CommittedPrompt], Callable[[list[Step]], dict[Key, Origin]]]:
    """The verified lock at ``ref``: its commit, its prompts, and where each version to register comes from.

    A composed prompt that cannot be registered as a self-contained template cannot be deployed either.
    """
    commit, prompts, origins_for, unflattenable = _current(root, ref)
    if unflattenable:
        failure = unflattenable[0]
        more = f" (and {len(unflattenable) - 1} more)" if len(unflattenable) > 1 else ""
        raise FatalError(f"{failure.name} {failure.entry.version}: {failure.reason}{more}", path=failure.entry.path)
    return commit, prompts, origins_for


def sync(root: str, options: Options) -> int:
    git.require_commits(root, "sync")
    if options.backfill:
        git.require_full_history(root, "sync --backfill")
    deadline = time.monotonic() + options.timeout
    commit, prompts, origins_for, unflattenable = (_history if options.backfill else _current)(root, options.ref)
    uri = tracking_uri(root, options.tracking_uri)
    redact = Redactor.for_tracking(uri)
    shown_uri = display_uri(uri)
    from prompthooks.registry import MlflowRegistry  # mlflow: only sync pays for its import

    progress = Progress({}, {})
    steps: list[Step] = []
    metadata: list[MetadataChange] = []
    with _embedded_store_lock(root, uri, deadline):
        try:
            registry = MlflowRegistry(uri, redact, deadline)
            current_metadata = {} if options.dry_run else registry.prompt_metadata(prompt.name for prompt in prompts)
            outcomes = register_missing(registry, prompts, origins_for, options.jobs, options.dry_run, progress, steps)
            if not options.dry_run:
                with_versions = {outcome.step.prompt.name for outcome in outcomes if outcome.number is not None}
                existed = with_versions & set(current_metadata)  # the others were created by this run, with their metadata
                metadata = _update_metadata(registry, prompts, {name: current_metadata[name] for name in existed})
        except FatalError as error:
            error.message = redact(error.message)
            if progress.numbers:  # say what was registered before the registry failed us
                _report(_outcomes(steps, progress, {}, False), options, shown_uri, commit)
            raise
    outcomes += _unflattenable_outcomes(unflattenable)
    _report(outcomes, options, shown_uri, commit, metadata)
    failed = any(outcome.result in ("conflict", "rejected", "error") for outcome in outcomes) or any(change.error for change in metadata)
    return 1 if failed else 0
