"""Prompt versions through git history: when each version first appeared in the lock."""

from __future__ import annotations

import sys
from typing import NamedTuple

from prompthooks import config, git, lockfile
from prompthooks.errors import FatalError
from prompthooks.git import CommitInfo
from prompthooks.records import LockEntry


class VersionRecord(NamedTuple):
    name: str
    entry: LockEntry
    commit: CommitInfo  # the commit whose lock first held this version


def warn_unreadable(error: FatalError) -> None:
    """One line on stderr for a lock in history that cannot be read: history goes on without it."""
    print(f"{error}; skipped this commit's lock (committed unreadable, e.g. with --no-verify)", file=sys.stderr)


def versions_of(root: str, name: str, ref: str = "HEAD") -> list[VersionRecord]:
    """Every version ``name`` had in the lock up to ``ref``, newest first."""
    with git.open_repo(root) as repo:
        commit = git.resolve_commit(repo, ref)
        lock_path = config.at_commit(repo, commit).lock
        history = git.file_history(repo, commit, lock_path)
    header = lockfile.table_header(name)
    records: list[VersionRecord] = []
    previous: str | None = None
    for info, raw in history:
        label = f"{info.sha[:12]}:{lock_path}"
        try:
            entry = lockfile.entry_of(raw, name, label, header) if raw is not None else None
            if entry is None and raw is not None:
                lockfile.parse(raw, label)  # absent, or unreadable? (rare: parse the whole lock only then)
        except FatalError as error:
            warn_unreadable(error)
            continue
        if entry is not None and entry.version != previous:
            records.append(VersionRecord(name, entry, info))
        previous = entry.version if entry is not None else None
    records.reverse()
    return records


def all_versions(root: str, ref: str = "HEAD") -> list[VersionRecord]:
    """Every (prompt, version) that ever appeared in the lock up to ``ref``, in the order they appeared.

    Each version of the lock is read once, from the tables that changed since a version read
    before it (``lockwalk``): what they did not change appeared before.
    """
    from prompthooks import lockwalk

    with git.open_repo(root) as repo:
        commit = git.resolve_commit(repo, ref)
        lock_path = config.at_commit(repo, commit).lock
    steps = git.file_steps(root, [commit], lock_path, full_history=False)
    seen: set[tuple[str, str]] = set()
    records: list[VersionRecord] = []
    for found in lockwalk.walk(root, steps, lock_path, outside_bases=False):
        if found.error is not None:
            warn_unreadable(found.error)
            continue
        for name, entry in sorted(found.entries.items()):
            if (name, entry.version) not in seen:
                seen.add((name, entry.version))
                records.append(VersionRecord(name, entry, found.step.info))
    return records


def locked_at(root: str, ref: str = "HEAD") -> dict[str, LockEntry]:
    """The lock's entries at ``ref`` (none when it has no lock)."""
    with git.open_repo(root) as repo:
        commit = git.resolve_commit(repo, ref)
        lock_path = config.at_commit(repo, commit).lock
        raw = git.blob_at(repo, commit, lock_path)
    return lockfile.parse(raw, f"{commit[:12]}:{lock_path}") if raw is not None else {}


def known_versions(root: str, name: str, ref: str, command: str) -> list[VersionRecord]:
    """Every version of ``name`` up to ``ref``, newest first; an unknown name is an error listing the known ones."""
    git.require_commits(root, command)
    git.require_full_history(root, command)
    records = versions_of(root, name, ref)
    if records:
        return records
    with git.open_repo(root) as repo:
        commit = git.resolve_commit(repo, ref)
        lock_path = config.at_commit(repo, commit).lock
        raw = git.blob_at(repo, commit, lock_path)
    names = sorted(lockfile.parse(raw, f"{ref}:{lock_path}")) if raw is not None else []
    raise FatalError(f"unknown prompt {name!r} (known: {', '.join(names) or 'none'})")
