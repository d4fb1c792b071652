"""Decide, for every committed prompt version, what sync does with the registry (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from prompthooks.snapshot import CommittedPrompt

REGISTER: Final = "register"
SKIP: Final = "skip"
CONFLICT: Final = "conflict"


class RegistryVersion(NamedTuple):
    """One version already in the registry, as sync sees it."""

    name: str
    number: int
    semver: str | None  # its prompthooks_version tag
    hash: str | None  # its prompthooks_hash tag
    content_hash: str | None  # the hash of its template and metadata as stored now (None: unreadable)


class Step(NamedTuple):
    prompt: CommittedPrompt
    action: str  # REGISTER, SKIP or CONFLICT
    number: int | None  # the registry's version number, when there is one
    detail: str


def _short(hash_: str | None) -> str:
    return "no hash" if hash_ is None else hash_[: len("sha256:") + 12]


def decide(prompt: CommittedPrompt, existing: Sequence[RegistryVersion]) -> Step:
    entry = prompt.entry
    same_semver = sorted((version for version in existing if version.semver == entry.version), key=lambda v: v.number)
    if not same_semver:
        return Step(prompt, REGISTER, None, "not in the registry")
    found = same_semver[0]
    if found.hash != entry.hash:
        return Step(
            prompt,
            CONFLICT,
            found.number,
            f"MLflow version {found.number} has {entry.version} with {found.hash}, the lock has {entry.hash}",
        )
    if found.content_hash != registered_hash(prompt):
        return Step(
            prompt,
            CONFLICT,
            found.number,
            f"MLflow version {found.number} was modified in the registry: its template and metadata hash to "
            f"{_short(found.content_hash)}, not its prompthooks_hash {_short(found.hash)}",
        )
    return Step(prompt, SKIP, found.number, f"already registered as MLflow version {found.number}")


def registered_hash(prompt: CommittedPrompt) -> str:
    """The hash of the template and metadata a registry holds for ``prompt``: the lock's, unless it was flattened."""
    if not prompt.entry.dependencies:
        return prompt.entry.hash
    from prompthooks.hashing import content_hash

    return content_hash(prompt.content)


def plan(prompts: Sequence[CommittedPrompt], existing: Mapping[str, Sequence[RegistryVersion]]) -> list[Step]:
    return [decide(prompt, existing.get(prompt.name, ())) for prompt in prompts]


Key = tuple[str, str]  # (prompt name, semver)


def lost_races(registered: Mapping[Key, int], existing: Mapping[str, Sequence[RegistryVersion]], hashes: Mapping[Key, str]) -> dict[Key, int]:
    """Versions registered by this run that lost a race, with the winning (lowest) version number.

    Every concurrent run removes only its own loser, so the lowest number survives.
    """
    losers: dict[Key, int] = {}
    for key, mine in registered.items():
        same = [version.number for version in existing.get(key[0], ()) if version.hash == hashes[key] and version.semver == key[1]]
        if same and min(same) < mine:
            losers[key] = min(same)
    return losers
