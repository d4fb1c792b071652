"""``prompthooks uri NAME[@SEMVER|@ENV]``: the MLflow URI (``prompts:/NAME/7``) of a prompt version, in one registry request."""

from __future__ import annotations

import re
from typing import Final

from prompthooks import config, git, lockfile
from prompthooks.contract import alias_problem
from prompthooks.errors import FatalError
from prompthooks.lockplan import NAME_RULE
from prompthooks.registry.stored import integrity_problem
from prompthooks.services.connection import open_registry

SEMVER: Final = re.compile(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?\Z")
TIMEOUT: Final = 60.0


def _locked_version(root: str, name: str, ref: str) -> str:
    with git.open_repo(root) as repo:
        commit = git.resolve_commit(repo, ref)
        lock_path = config.at_commit(repo, commit).lock
        raw = git.blob_at(repo, commit, lock_path)
    if raw is None:
        raise FatalError(f"no {lock_path} in {ref}; name a version: {name}@<semver>")
    entries = lockfile.parse(raw, f"{ref}:{lock_path}")
    if name not in entries:
        raise FatalError(f"unknown prompt {name!r} in {ref}:{lock_path} (known: {', '.join(sorted(entries)) or 'none'})")
    return entries[name].version


def uri(root: str, spec: str, *, ref: str, tracking_uri: str | None) -> int:
    name, _, wanted = spec.partition("@")
    if not NAME_RULE.match(name):
        raise FatalError(f"{spec!r}: expected NAME, NAME@SEMVER or NAME@ENV with a prompt name (letters, digits, '_', '.', '-')")
    if wanted and not SEMVER.match(wanted):
        problem = alias_problem(wanted)
        if problem:
            raise FatalError(f"{spec!r}: {wanted!r} is neither a semantic version nor an environment: {problem}")
    semver = wanted if SEMVER.match(wanted) else None if wanted else _locked_version(root, name, ref)
    registry = open_registry(root, tracking_uri, TIMEOUT)
    found = registry.version_by_semver(name, semver) if semver is not None else registry.version_by_alias(name, wanted)
    if found is None:
        what = f"{name} {semver}" if semver is not None else f"environment {wanted!r} of {name}"
        raise FatalError(f"{what} is not in the registry {registry.shown_uri}" + ("; run `prompthooks sync`" if semver else ""))
    problem = integrity_problem(found)
    if problem is not None:  # a URI is for serving: never hand out one to a version that is not intact
        raise FatalError(f"{name}: {problem}; see `prompthooks status`")
    print(f"prompts:/{name}/{found.number}")
    return 0
