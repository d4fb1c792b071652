"""``prompthooks log``: the version history of one prompt, from git."""

from __future__ import annotations

import json

from prompthooks import versionlog


def log(root: str, name: str, *, ref: str, as_json: bool) -> int:
    records = versionlog.known_versions(root, name, ref, "log")
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
