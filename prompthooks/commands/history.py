"""``prompthooks log`` and ``prompthooks show``: prompt versions from git history."""

from __future__ import annotations

import json
import sys

from prompthooks import config, git, history, lockfile
from prompthooks.errors import FatalError
from prompthooks.history import VersionRecord


def _known(root: str, name: str, ref: str, command: str) -> list[VersionRecord]:
    git.require_commits(root, command)
    git.require_full_history(root, command)
    records = history.versions_of(root, name, ref)
    if records:
        return records
    with git.open_repo(root) as repo:
        commit = git.resolve_commit(repo, ref)
        lock_path = config.at_commit(repo, commit).lock
        raw = git.blob_at(repo, commit, lock_path)
    names = sorted(lockfile.parse(raw, f"{ref}:{lock_path}")) if raw is not None else []
    raise FatalError(f"unknown prompt {name!r} (known: {', '.join(names) or 'none'})")


def log(root: str, name: str, *, ref: str, as_json: bool) -> int:
    records = _known(root, name, ref, "log")
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "version": record.entry.version,
                        "hash": record.entry.hash,
                        "path": record.entry.path,
                        "commit": record.commit.sha,
                        "author": record.commit.author,
                        "date": record.commit.date,
                        "subject": record.commit.subject,
                    }
                    for record in records
                ],
                indent=2,
            )
        )
        return 0
    width = max(len(record.entry.version) for record in records)
    for record in records:
        entry, commit = record.entry, record.commit
        print(f"{entry.version:<{width}}  {entry.hash[:19]}  {commit.sha[:10]}  {commit.date[:10]}  {commit.author}: {commit.subject}")
    return 0


def _flattened(root: str, record: VersionRecord) -> bytes:
    from prompthooks import snapshot

    committed = snapshot.read(root, record.commit.sha)
    for failure in committed.unflattenable:
        if failure.name == record.name:
            raise FatalError(failure.reason, path=record.entry.path)
    for prompt in committed.prompts:
        if prompt.name == record.name:
            return prompt.content.body.encode()
    raise FatalError(f"{record.name} is not in the lock at {record.commit.sha[:12]}")


def show(root: str, spec: str, *, ref: str, flattened: bool = False) -> int:
    name, _, version = spec.partition("@")
    records = _known(root, name, ref, "show")
    wanted = records[0] if not version else next((record for record in records if record.entry.version == version), None)
    if wanted is None:
        known = ", ".join(record.entry.version for record in records)
        raise FatalError(f"{name} has no version {version} (known: {known})")
    if flattened:
        sys.stdout.buffer.write(_flattened(root, wanted))
        sys.stdout.buffer.flush()
        return 0
    with git.open_repo(root) as repo:
        raw = git.blob_at(repo, wanted.commit.sha, wanted.entry.path)
    if raw is None:
        raise FatalError(f"{wanted.entry.path} is missing from commit {wanted.commit.sha[:12]}")
    sys.stdout.buffer.write(raw)
    sys.stdout.buffer.flush()
    return 0
