"""Register every version of some committed prompts the registry lacks, exactly once: sync's work, which deploy shares."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple

from prompthooks import git, snapshot, syncplan
from prompthooks.errors import FatalError
from prompthooks.records import CommittedPrompt
from prompthooks.registry.stored import StoredVersion
from prompthooks.syncplan import REGISTER, SKIP, Key, Step

if TYPE_CHECKING:
    from prompthooks.registry.client import MlflowRegistry
    from prompthooks.registry.payload import Registration, Rejected


class Outcome(NamedTuple):
    step: Step
    result: str  # registered, skipped, conflict, rejected, would-register, error
    number: int | None
    detail: str


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
    from prompthooks.registry.payload import Rejected, registration

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
    from prompthooks.registry.payload import Rejected

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


def outcomes(steps: Sequence[Step], progress: Progress, winners: Mapping[Key, StoredVersion], dry_run: bool) -> list[Outcome]:
    outcomes = []
    registered, rejected = progress.numbers, progress.rejected
    for step in steps:
        key = (step.prompt.name, step.prompt.entry.version)
        if step.action == REGISTER and key in rejected:
            outcomes.append(Outcome(step, "rejected", None, rejected[key].message))
        elif step.action == REGISTER and dry_run:
            outcomes.append(Outcome(step, "would-register", None, "not in the registry"))
        elif step.action == REGISTER and key in winners and winners[key].hash == step.prompt.entry.hash:
            outcomes.append(Outcome(step, "skipped", winners[key].number, f"registered concurrently as MLflow version {winners[key].number}"))
        elif step.action == REGISTER and key in winners:
            winner = winners[key]
            detail = f"MLflow version {winner.number} has {key[1]} with {winner.hash}, registered at once by another sync; the lock has {step.prompt.entry.hash}"
            outcomes.append(Outcome(step, "conflict", winner.number, detail))
        elif step.action == REGISTER and key in registered:
            outcomes.append(Outcome(step, "registered", registered[key], f"as MLflow version {registered[key]}"))
        elif step.action == REGISTER:
            continue  # the run stopped before this one
        elif step.action == SKIP:
            outcomes.append(Outcome(step, "skipped", step.number, step.detail))
        else:
            outcomes.append(Outcome(step, "conflict", step.number, step.detail))
    return outcomes


Versions = tuple[str, list[CommittedPrompt], Callable[[list[Step]], dict[Key, Origin]], list[snapshot.Unflattenable]]
"""What a sync reads from git: the commit, its prompts, where each version to register comes from, and what cannot be registered."""


def at_ref(root: str, ref: str) -> Versions:
    """The lock at ``ref``; every version's origin is that commit, its message the last change to the file."""
    committed = snapshot.read(root, ref)

    def origins(steps: list[Step]) -> dict[Key, Origin]:
        paths = [step.prompt.entry.path for step in steps if step.action == REGISTER]
        changes = git.last_changes(root, committed.commit, paths)
        return {
            (step.prompt.name, step.prompt.entry.version): Origin(
                committed.commit, changes[step.prompt.entry.path].subject if step.prompt.entry.path in changes else f"{step.prompt.name} {step.prompt.entry.version}"
            )
            for step in steps
        }

    return committed.commit, committed.prompts, origins, committed.unflattenable


def register_missing(
    registry: MlflowRegistry,
    prompts: Sequence[CommittedPrompt],
    origins_for: Callable[[list[Step]], dict[Key, Origin]],
    jobs: int,
    dry_run: bool,
    progress: Progress | None = None,
    steps: list[Step] | None = None,
    *,
    current: Mapping[str, str] | None = None,
) -> list[Outcome]:
    """Register every version of ``prompts`` the registry lacks, exactly once: sync's work, which deploy shares.

    ``progress`` and ``steps`` are filled in as it goes, so a caller can report what was done before a failure.
    ``current`` (the versions locked at the synced ref) marks history (``sync --backfill``): a version that
    would land above the one git has now is refused (``syncplan.keep_latest``).
    """
    progress = Progress({}, {}) if progress is None else progress
    steps = [] if steps is None else steps
    existing = registry.list_versions((prompt.name for prompt in prompts), jobs)
    steps.extend(syncplan.plan(prompts, existing, current))
    winners: dict[Key, StoredVersion] = {}
    if dry_run:
        _prepare(steps, origins_for(steps), progress.rejected)  # what would be refused, without a write
    else:
        existing_names = {name for name, versions in existing.items() if versions}
        _register_all(registry, steps, existing_names, origins_for(steps), jobs, progress)
        registered = progress.numbers
        if registered:
            # MLflow has no conditional create: look again, and undo our version where a concurrent sync won.
            after = registry.list_versions((name for name, _ in registered), jobs)
            winners = syncplan.lost_races(registered, after)
            for key in winners:
                registry.delete_version(key[0], registered[key])
    return outcomes(steps, progress, winners, dry_run)


def read_ref(root: str, ref: str) -> tuple[str, list[CommittedPrompt], Callable[[list[Step]], dict[Key, Origin]]]:
    """The verified lock at ``ref``: its commit, its prompts, and where each version to register comes from.

    A composed prompt that cannot be registered as a self-contained template cannot be deployed either.
    """
    commit, prompts, origins_for, unflattenable = at_ref(root, ref)
    if unflattenable:
        failure = unflattenable[0]
        more = f" (and {len(unflattenable) - 1} more)" if len(unflattenable) > 1 else ""
        raise FatalError(f"{failure.name} {failure.entry.version}: {failure.reason}{more}", path=failure.entry.path)
    return commit, prompts, origins_for


