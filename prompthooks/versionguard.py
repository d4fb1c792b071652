"""What the lock's git history says about versions: every hash each (name, version) ever named.

Versions only grow, and a version names one content forever; a rebase or a
merge that kept one side of the lock can break that in HEAD's own history,
which HEAD's lock alone cannot show.  The summary of a commit is the union of
its parents' summaries and its own lock, so the hook keeps the summaries of
recent commits under the git directory and, committing on top of one of them,
parses nothing more than HEAD's lock (parsed anyway as the baseline).  Other
moves (a checkout, a rebase, a fresh clone) read every lock in history once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple

from prompthooks import git, lockfile
from prompthooks.cache import Cache
from prompthooks.errors import FatalError
from prompthooks.lockplan import Held, held_hash
from prompthooks.records import LockEntry

CACHE_FILE: Final = "history"
KEPT: Final = 4  # summaries of this many recent commits are kept (loaded on every run that plans)

Summary = tuple[dict[str, dict[str, frozenset[str]]], dict[str, str]]  # lockplan.Held as plain data, for marshal


class Readable(NamedTuple):
    commit: str
    entries: dict[str, LockEntry]
    retired: dict[str, str]


def _raise(highest: dict[str, str], name: str, version: str) -> None:
    known = highest.get(name)
    if known is None:
        highest[name] = version
    elif known != version:
        from prompthooks import versioning

        if versioning.parse_version(version) > versioning.parse_version(known):
            highest[name] = version


def _add(summary: Summary, entries: Mapping[str, LockEntry]) -> None:
    hashes, highest = summary
    for name, entry in entries.items():
        versions = hashes.setdefault(name, {})
        known = versions.get(entry.version)
        held = held_hash(entry)
        if known is None or held not in known:
            versions[entry.version] = (known or frozenset()) | {held}
        _raise(highest, name, entry.version)


def _union(summaries: list[Summary]) -> Summary:
    if len(summaries) == 1:
        return {name: dict(versions) for name, versions in summaries[0][0].items()}, dict(summaries[0][1])
    merged: Summary = ({}, {})
    for hashes, highest in summaries:
        for name, versions in hashes.items():
            mine = merged[0].setdefault(name, {})
            for version, found in versions.items():
                mine[version] = mine.get(version, frozenset()) | found
        for name, version in highest.items():
            _raise(merged[1], name, version)
    return merged


def _parse(raw: bytes, label: str) -> tuple[dict[str, LockEntry], dict[str, str]] | None:
    try:
        return lockfile.parse_with_retired(raw, label)
    except FatalError:
        return None  # an unreadable lock in history (committed with --no-verify) says nothing


def _parents(commit_object: bytes) -> list[str]:
    header = commit_object.split(b"\n\n", 1)[0]
    return [line[len(b"parent ") :].decode() for line in header.splitlines() if line.startswith(b"parent ")]


def full(root: str, revisions: list[str], lock_path: str) -> tuple[Summary, Readable | None]:
    """Every lock reachable from ``revisions``, read once each; and the newest readable one."""
    commits = git.lock_commits(root, ["--full-history", *revisions], lock_path)
    objects = git.read_objects(root, [f"{commit}:{lock_path}" for commit in commits])
    summary: Summary = ({}, {})
    parsed: dict[str, tuple[dict[str, LockEntry], dict[str, str]] | None] = {}
    newest: Readable | None = None
    for commit, found in zip(commits, objects, strict=True):
        if found is None:
            continue
        blob, raw = found
        if blob not in parsed:
            parsed[blob] = _parse(raw, f"{commit[:12]}:{lock_path}")
            if parsed[blob] is not None:
                _add(summary, parsed[blob][0])  # type: ignore[index]
        result = parsed[blob]
        if newest is None and result is not None:
            newest = Readable(commit, *result)
    return summary, newest


def held(root: str, lock_path: str, heads: Mapping[str, bytes], head_entries: Mapping[str, Mapping[str, LockEntry]], cache: Cache) -> Held:
    """The summary of every commit in ``heads`` (commit id -> its commit object), from the cache when it can.

    ``head_entries`` holds the already parsed locks of those commits.
    """
    stored = cache.load(CACHE_FILE)
    known: dict[str, Summary] = stored if isinstance(stored, dict) else {}
    summaries: list[Summary] = []
    for commit, commit_object in heads.items():
        if commit in known:
            summaries.append(known[commit])
            continue
        parents = _parents(commit_object)
        if parents and all(parent in known for parent in parents):
            summary = _union([known[parent] for parent in parents])
            _add(summary, head_entries.get(commit, {}))
        else:
            summary = full(root, [commit], lock_path)[0]
        known[commit] = summary
        summaries.append(summary)
        cache.store(CACHE_FILE, dict(list(known.items())[-KEPT:]))
    hashes, highest = summaries[0] if len(summaries) == 1 else _union(summaries)
    return Held(hashes, highest)
