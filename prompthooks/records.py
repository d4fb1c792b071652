"""The records the hook passes between modules, kept apart so the hot path imports nothing heavy."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

HASH_SCHEME: Final = "sha256:utf8-lf-body+json-metadata/1"
"""Recorded in the lock: how a prompt's ``hash`` is computed (see ``hashing``), so the scheme can evolve."""
HASH_SCHEME_DEPENDENCIES: Final = "sha256:utf8-lf-body+json-metadata+dependencies/2"
"""The scheme of a lock in which some prompt has dependencies or fragments exist (see ``composition``).

A file without dependencies hashes the same under both, so a lock without any
records the first scheme and stays byte for byte what it was.
"""


# How templates are written: their file names, and the Jinja extensions they are parsed and rendered with.
JINJA_SUFFIXES: Final = (".jinja2", ".j2", ".jinja")
JINJA_EXTENSIONS: Final = ("jinja2.ext.loopcontrols", "jinja2.ext.do")

# Reference kinds: how a template uses another one.
INCLUDE: Final = "include"
INCLUDE_IF_PRESENT: Final = "include-ignore-missing"  # ``{% include "x" ignore missing %}``: absent is fine
EXTENDS: Final = "extends"
IMPORT: Final = "import"  # macros imported without the caller's context
IMPORT_WITH_CONTEXT: Final = "import-with-context"
PARTIAL: Final = "partial"  # a Dotprompt/Handlebars partial, ``{{> name}}``
DYNAMIC: Final = "dynamic"  # a name computed at render time: its ``name`` is the construct
SHARES_CONTEXT: Final = frozenset({INCLUDE, INCLUDE_IF_PRESENT, EXTENDS, IMPORT_WITH_CONTEXT, PARTIAL})

Reference = tuple[str, str, int]  # (kind, name, body line): plain tuples, so the cache can marshal them


class Interface(NamedTuple):
    """A template's variables: what a caller must pass, what it may, and the templates it uses."""

    required: tuple[str, ...]  # sorted
    optional: tuple[str, ...]  # sorted; a caller may leave them out
    references: tuple[Reference, ...] = ()


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


class PromptContent(NamedTuple):
    """A prompt as sent to a registry: template body and metadata, LF line endings."""

    body: str
    metadata: dict[str, Any]  # front matter without ``version`` and ``bump``


class CommittedPrompt(NamedTuple):
    """A locked prompt as committed: its lock entry and its content (a composed prompt's: the flattened copy)."""

    name: str
    entry: LockEntry
    content: PromptContent
