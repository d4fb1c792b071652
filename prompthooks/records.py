"""The records the hook passes between modules, kept apart so the hot path imports nothing heavy."""

from __future__ import annotations

from typing import Final, NamedTuple

HASH_SCHEME: Final = "sha256:utf8-lf-body+json-metadata/1"
"""Recorded in the lock: how a prompt's ``hash`` is computed (see ``hashing``), so the scheme can evolve."""


class PromptFile(NamedTuple):
    """What one prompt file says; depends only on its bytes, so the cache can keep it."""

    has_front_matter: bool
    name: str | None  # the front-matter ``name`` when it names the registry entry
    version: str | None  # validated semver from the front matter
    bump: str | None  # validated bump level from the front matter
    hash: str
    variables: tuple[str, ...]  # what the template needs from its caller: its interface


class LockEntry(NamedTuple):
    path: str
    version: str
    hash: str
    variables: tuple[str, ...] | None = None  # None: not recorded (read from an older lock)
