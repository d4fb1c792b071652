"""The records the hook passes between modules, kept apart so the hot path imports nothing heavy."""

from __future__ import annotations

from typing import Final, NamedTuple

HASH_SCHEME: Final = "sha256:utf8-lf-body+json-metadata/1"
"""Recorded in the lock: how a prompt's ``hash`` is computed (see ``hashing``), so the scheme can evolve."""
HASH_SCHEME_DEPENDENCIES: Final = "sha256:utf8-lf-body+json-metadata+dependencies/2"
"""The scheme of a lock in which some prompt has dependencies or fragments exist (see ``composition``).

A file without dependencies hashes the same under both, so a lock without any
records the first scheme and stays byte for byte what it was.
"""


class PromptFile(NamedTuple):
    """What one prompt file says; depends only on its bytes, so the cache can keep it."""

    has_front_matter: bool
    name: str | None  # the front-matter ``name`` when it names the registry entry
    version: str | None  # validated semver from the front matter
    bump: str | None  # validated bump level from the front matter
    hash: str  # of this file alone; a prompt's locked hash also covers its dependencies
    variables: tuple[str, ...]  # what the template needs from its caller: its interface
    optional: tuple[str, ...] = ()  # what the caller may pass
    references: tuple[tuple[str, str, int], ...] = ()  # (kind, template name, line) as written: see ``variables``


class LockEntry(NamedTuple):
    path: str
    version: str
    hash: str
    variables: tuple[str, ...] | None = None  # required; None: not recorded (read from an older lock)
    optional: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()  # repo-relative paths of the templates it uses directly, sorted


class FragmentEntry(NamedTuple):
    """A file that only exists to be used by prompts: locked, never registered."""

    hash: str  # covers its own dependencies, like a prompt's
    dependencies: tuple[str, ...] = ()
