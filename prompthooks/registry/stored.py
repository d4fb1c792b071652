"""What a registry holds, decoded from its tags, and the one answer to "is this version intact?".

Pure and free of mlflow: sync, deploy, rollback, status, export, uri and the runtime loader all
decide intactness here, so a composed prompt (registered flattened) is judged alike everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final, NamedTuple

from prompthooks import chat
from prompthooks.contract import TAG_CHAT_LAYOUT, TAG_DEPENDENCIES, TAG_FLATTENED_HASH, TAG_HASH, TAG_METADATA, TAG_VERSION
from prompthooks.hashing import PromptContent, content_hash

TEMPLATE_TAG: Final = "mlflow.prompt.text"
PROMPT_TYPE_TAG: Final = "_mlflow_prompt_type"
PROMPT_TYPE_CHAT: Final = "chat"
IS_PROMPT_FILTER: Final = "tag.`mlflow.prompt.is_prompt` = 'true'"  # a model-version search
IS_PROMPT_MODEL_FILTER: Final = "tags.`mlflow.prompt.is_prompt` = 'true'"  # a registered-model search


class PromptState(NamedTuple):
    """A prompt's aliases (alias -> MLflow version number) and prompt-level tags."""

    name: str
    aliases: dict[str, int]
    tags: dict[str, str]


class StoredRecord(NamedTuple):
    """A deployment record as stored: a LoggedModel's id, status, creation time and tags."""

    id: str
    status: str  # PENDING, READY or FAILED
    created_ms: int
    tags: dict[str, str]


class StoredVersion(NamedTuple):
    """One MLflow version of a prompt, with its tags as stored now."""

    name: str
    number: int
    tags: dict[str, str]

    @property
    def semver(self) -> str | None:
        return self.tags.get(TAG_VERSION)

    @property
    def hash(self) -> str | None:
        """The lock's hash it was registered with (over the dependency closure for a composed prompt)."""
        return self.tags.get(TAG_HASH)

    @property
    def composed(self) -> bool:
        return TAG_DEPENDENCIES in self.tags

    @property
    def content(self) -> PromptContent | None:
        return stored_content(self.tags)

    def text_hash(self) -> str | None:
        """The hash of its template and metadata as stored now (None: unreadable)."""
        content = self.content
        return None if content is None else content_hash(content)


def stored_content(tags: Mapping[str, str]) -> PromptContent | None:
    """The template and metadata a registry version holds now, as sync registered them.

    A chat version's body is rebuilt from its messages and layout; messages that no longer fit the layout
    (edited in the registry) give None.
    """
    template, metadata = tags.get(TEMPLATE_TAG), tags.get(TAG_METADATA)
    if template is None or metadata is None:
        return None
    try:
        parsed = json.loads(metadata)
        if tags.get(PROMPT_TYPE_TAG) == PROMPT_TYPE_CHAT or TAG_CHAT_LAYOUT in tags:
            rebuilt = chat.rebuild(json.loads(template), json.loads(tags.get(TAG_CHAT_LAYOUT, "null")))
            if rebuilt is None:
                return None
            template = rebuilt
    except ValueError:
        return None
    return PromptContent(template, parsed) if isinstance(parsed, dict) else None


def _short(hash_: str | None) -> str:
    return "no hash" if hash_ is None else hash_[: len("sha256:") + 12]


class FromGit(NamedTuple):
    """What git says a version must hold: the lock's hash, and the hash its registered text must have."""

    hash: str
    text_hash: str | None  # None: a composed prompt whose flattened copy the caller did not make


def from_lock(locked_hash: str, dependencies: tuple[str, ...], flattened_hash: str | None = None) -> FromGit:
    """A lock entry's word: a prompt without dependencies is registered as it is locked."""
    return FromGit(locked_hash, flattened_hash if dependencies else locked_hash)


def from_pin(pinned_hash: str) -> FromGit:
    """An exported ``PROMPT_<NAME>_HASH``: the lock's hash of a version registered as it is locked.

    A composed prompt's registered text (its flattened copy) hashes to something else, which a pin
    does not carry: its caller must make the flattened copy from git, or refuse to vouch for it.
    """
    return FromGit(pinned_hash, pinned_hash)


class Problem(NamedTuple):
    """Why a version is not intact: what was hashed, what it must be, what it is, and one line saying so."""

    where: str  # "the registry's text of MLflow version 3", "MLflow version 3 (its prompthooks_hash)"
    expected: str
    actual: str
    reason: str


def problem_of(version: StoredVersion, git: FromGit | None = None) -> Problem | None:
    """Why ``version`` is not intact, or None: the one check sync, deploy, status, export, uri and the loader make.

    With ``git``, the version must carry the lock's hash and its text must hash to what git says;
    only a composed prompt whose flattened copy the caller did not make takes the version's
    ``prompthooks_flattened_hash`` for that.  Without ``git`` the version's own tags are the
    check: the registry then vouches for its own text.
    """
    where = f"MLflow version {version.number}"
    if version.semver is None or version.hash is None:
        return Problem(
            f"{where}, which prompthooks sync did not register", "a prompthooks_hash tag", "nothing verifiable",
            f"{where} is missing its prompthooks tags (not registered by prompthooks sync)",
        )  # fmt: skip
    if git is not None and version.hash != git.hash:
        return Problem(f"{where} (its prompthooks_hash)", git.hash, version.hash, f"{where} has {version.semver} with {version.hash}, the lock has {git.hash}")
    text = f"the registry's text of {where}"
    actual = version.text_hash()
    if actual is None:
        return Problem(
            text, git.text_hash if git is not None and git.text_hash else version.hash, "nothing readable",
            f"{where} was modified in the registry: its template or metadata can no longer be read",
        )  # fmt: skip
    if git is not None and git.text_hash is not None:
        wanted: str | None = git.text_hash
    elif git is not None or version.composed:
        wanted = version.tags.get(TAG_FLATTENED_HASH)
    else:
        wanted = version.hash
    if actual != wanted:
        reason = f"{where} was modified in the registry: its template and metadata hash to {_short(actual)}, not {_short(wanted)}"
        return Problem(text, wanted or f"a {TAG_FLATTENED_HASH} tag", actual, reason)
    return None


def integrity_problem(version: StoredVersion, git: FromGit | None = None) -> str | None:
    """``problem_of``'s reason, in one line: what the commands print."""
    problem = problem_of(version, git)
    return None if problem is None else problem.reason


def tag_dict(items: object) -> dict[str, str]:
    """Tags as a dict, from an entity's dict or a REST answer's list of ``{"key", "value"}``."""
    if isinstance(items, dict):
        return {str(key): str(value) for key, value in items.items()}
    return {str(item["key"]): str(item.get("value", "")) for item in items or [] if isinstance(item, dict) and "key" in item}  # type: ignore[attr-defined]
