"""Three-way merge of prompts.lock entries (pure).

Entries changed on one side only merge cleanly.  A prompt changed on both
sides cannot be settled from the locks alone: its merged file must be
hashed again, which ``prompthooks lock`` does once git has merged the files.
Two sides that gave the same version to different content are a real
conflict: that version may already mean two things in a registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from prompthooks.records import LockEntry


class MergeResult(NamedTuple):
    entries: dict[str, LockEntry]
    semver_conflicts: list[str]  # same version, different content: needs a human
    to_recompute: list[str]  # changed on both sides: `prompthooks lock` after the files merge


def merge(base: Mapping[str, LockEntry], ours: Mapping[str, LockEntry], theirs: Mapping[str, LockEntry]) -> MergeResult:
    from prompthooks import versioning

    entries: dict[str, LockEntry] = {}
    semver_conflicts: list[str] = []
    to_recompute: list[str] = []
    for name in sorted(set(base) | set(ours) | set(theirs)):
        old, mine, other = base.get(name), ours.get(name), theirs.get(name)
        if mine == other or other == old:
            chosen = mine
        elif mine == old:
            chosen = other
        elif mine is not None and other is not None and mine.hash == other.hash:
            newer = versioning.parse_version(other.version) > versioning.parse_version(mine.version)
            chosen = other if newer else mine  # same content: the higher version stands
        elif mine is not None and other is not None and mine.version == other.version:
            semver_conflicts.append(
                f"{name}: both branches produced {mine.version} with different content "
                f"({mine.hash[:19]} in ours, {other.hash[:19]} in theirs); give one of them a new version"
            )
            chosen = mine
        else:
            versions = " and ".join(entry.version for entry in (mine, other) if entry is not None)
            to_recompute.append(f"{name}: changed on both branches ({versions}); `prompthooks lock` recomputes it from the merged file")
            chosen = mine if mine is not None else other
        if chosen is not None:
            entries[name] = chosen
    return MergeResult(entries, semver_conflicts, to_recompute)
