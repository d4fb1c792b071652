"""Decide, for every committed prompt version, what sync does with the registry (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

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


def plan(prompts: Sequence[CommittedPrompt], existing: Mapping[str, Sequence[StoredVersion]]) -> list[Step]:
    return [decide(prompt, existing.get(prompt.name, ())) for prompt in prompts]


Key = tuple[str, str]  # (prompt name, semver)


def lost_races(registered: Mapping[Key, int], existing: Mapping[str, Sequence[StoredVersion]], hashes: Mapping[Key, str]) -> dict[Key, int]:
    """Versions registered by this run that lost a race, with the winning (lowest) version number.

    Every concurrent run removes only its own loser, so the lowest number survives.
    """
    losers: dict[Key, int] = {}
    for key, mine in registered.items():
        same = [version.number for version in existing.get(key[0], ()) if version.hash == hashes[key] and version.semver == key[1]]
        if same and min(same) < mine:
            losers[key] = min(same)
    return losers
