"""Decide, for every committed prompt version, what sync does with the registry (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from prompthooks import versioning
from prompthooks.records import CommittedPrompt
from prompthooks.registry.stored import FromGit, StoredVersion, integrity_problem

REGISTER: Final = "register"
SKIP: Final = "skip"
CONFLICT: Final = "conflict"


class Step(NamedTuple):
    prompt: CommittedPrompt
    action: str  # REGISTER, SKIP or CONFLICT
    number: int | None  # the registry's version number, when there is one
    detail: str


def decide(prompt: CommittedPrompt, existing: Sequence[StoredVersion]) -> Step:
    entry = prompt.entry
    same_semver = sorted((version for version in existing if version.semver == entry.version), key=lambda v: v.number)
    if not same_semver:
        return Step(prompt, REGISTER, None, "not in the registry")
    found = same_semver[0]
    problem = integrity_problem(found, FromGit(entry.hash, registered_hash(prompt)))
    if problem is not None:
        return Step(prompt, CONFLICT, found.number, problem)
    return Step(prompt, SKIP, found.number, f"already registered as MLflow version {found.number}")


def registered_hash(prompt: CommittedPrompt) -> str:
    """The hash of the template and metadata a registry holds for ``prompt``: the lock's, unless it was flattened."""
    if not prompt.entry.dependencies:
        return prompt.entry.hash
    from prompthooks.hashing import content_hash

    return content_hash(prompt.content)


def plan(
    prompts: Sequence[CommittedPrompt], existing: Mapping[str, Sequence[StoredVersion]], current: Mapping[str, str] | None = None
) -> list[Step]:
    """What sync does with each version; ``current`` (the versions locked at the synced ref) marks a history
    sync (``--backfill``), whose older versions must not land above what the registry holds (``keep_latest``)."""
    steps = [decide(prompt, existing.get(prompt.name, ())) for prompt in prompts]
    return steps if current is None else keep_latest(steps, existing, current)


def _at_or_above(stored: StoredVersion, version: str) -> bool:
    """Does the registry hold ``stored`` at a semver at or above ``version``? (An unreadable tag says nothing.)"""
    try:
        return versioning.parse_version(stored.semver) >= versioning.parse_version(version)
    except ValueError:
        return False


def keep_latest(steps: Sequence[Step], existing: Mapping[str, Sequence[StoredVersion]], current: Mapping[str, str]) -> list[Step]:
    """Refuse the history versions that would reverse ``prompts:/NAME@latest``.

    MLflow numbers a prompt's versions in the order they are registered, ``@latest`` is the highest
    number, and numbers cannot be changed.  The promise is that the latest version in a registry is what
    git has now.  So a version other than the one locked at the synced ref (``current``) is registered
    only above every semver the registry holds for that name, and, while that name is still locked,
    only when its current version is registered after it in the same run (it then ends on top).
    The current version itself is registered as a plain sync would.
    """
    registered_later: dict[str, bool] = {}
    result: list[Step] = []
    for step in reversed(steps):  # later steps decide whether the current version comes after this one
        name, version = step.prompt.name, step.prompt.entry.version
        if step.action != REGISTER or current.get(name) == version:
            if step.action == REGISTER:
                registered_later[name] = True
            result.append(step)
            continue
        held = [stored for stored in existing.get(name, ()) if stored.semver is not None]
        above = [stored for stored in held if _at_or_above(stored, version)]
        ends_on_top = name not in current or registered_later.get(name, False)
        if not above and ends_on_top:
            result.append(step)
            continue
        top = max(above or held, key=lambda stored: stored.number) if (above or held) else None
        holds = f", and it holds {name} {top.semver} as MLflow version {top.number} already" if top is not None else ""
        result.append(
            step._replace(
                action=CONFLICT,
                detail=f"not registered: MLflow numbers versions in the order they are registered and cannot reorder them{holds}, "
                f"so prompts:/{name}@latest would serve {version}, not what git has now ({current.get(name, 'none')}); "
                f"to hold {name}'s history in semver order, backfill into a registry without {name}, before its first plain sync",
            )
        )
    result.reverse()
    return result


Key = tuple[str, str]  # (prompt name, semver)


def lost_races(registered: Mapping[Key, int], existing: Mapping[str, Sequence[StoredVersion]]) -> dict[Key, StoredVersion]:
    """Versions registered by this run that lost a race, with the winner: the lowest-numbered version of that semver.

    Every concurrent run removes only its own loser, so the lowest number survives, and one semver names one
    content: a winner with another hash (two branches gave the semver other texts) makes this run's a conflict.
    """
    losers: dict[Key, StoredVersion] = {}
    for key, mine in registered.items():
        same = sorted((version for version in existing.get(key[0], ()) if version.semver == key[1]), key=lambda version: version.number)
        if same and same[0].number < mine:
            losers[key] = same[0]
    return losers
