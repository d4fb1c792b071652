"""``prompthooks show``: a prompt exactly as committed at a version (or the self-contained copy sync registers)."""

from __future__ import annotations

import sys

from prompthooks import git, versionlog
from prompthooks.errors import FatalError
from prompthooks.versionlog import VersionRecord


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
    records = versionlog.known_versions(root, name, ref, "show")
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
