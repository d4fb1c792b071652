"""What sync writes into the registry for a prompt version and a prompt, validated by MLflow's rules first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from prompthooks import chat, modelconfig
from prompthooks.contract import (
    TAG_CHAT_LAYOUT,
    TAG_COMMIT,
    TAG_DEPENDENCIES,
    TAG_FLATTENED_HASH,
    TAG_HASH,
    TAG_METADATA,
    TAG_PATH,
    TAG_PROMPT_TAGS,
    TAG_VARIABLES,
    TAG_VERSION,
)
from prompthooks.errors import FatalError
from prompthooks.hashing import canonical_json, content_hash
from prompthooks.records import CommittedPrompt

EXIT_REJECTED: Final = 1
SPECIAL_METADATA: Final = frozenset({"model_config", "response_format"})


class Rejected(FatalError):
    """The registry (or MLflow's rules, checked before any write) refused one prompt version: that prompt's error."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message, path=path, line=line, exit_code=EXIT_REJECTED)


class Registration(NamedTuple):
    """One prompt version exactly as it is sent to MLflow."""

    template: str | list[dict[str, str]]  # a text, or chat messages
    tags: dict[str, str]
    model_config: dict[str, Any] | None
    response_format: dict[str, Any] | None


class PromptMetadata(NamedTuple):
    """What a prompt (not a version) carries in MLflow: description and tags."""

    description: str
    tags: dict[str, str]


def tag_value(value: Any) -> str:
    return value if isinstance(value, str) else canonical_json(value)


def is_user_key(key: str) -> bool:
    """A tag key the front matter may set: not MLflow's, not ours."""
    return not key.startswith(("mlflow.", "_mlflow", "prompthooks_"))


def _version_tags(prompt: CommittedPrompt, commit: str) -> dict[str, str]:
    metadata = prompt.content.metadata
    tags = {
        key: tag_value(value)
        for key, value in metadata.items()
        if key not in SPECIAL_METADATA and is_user_key(key) and not (key == "name" and value == prompt.name)
    }
    tags.update(
        {
            TAG_VERSION: prompt.entry.version,
            TAG_HASH: prompt.entry.hash,
            TAG_COMMIT: commit,
            TAG_PATH: prompt.entry.path,
            TAG_METADATA: canonical_json(metadata),
        }
    )
    if prompt.entry.dependencies:
        tags[TAG_FLATTENED_HASH] = content_hash(prompt.content)
        tags[TAG_DEPENDENCIES] = canonical_json(list(prompt.entry.dependencies))
    if prompt.entry.variables is not None:
        tags[TAG_VARIABLES] = canonical_json(list(prompt.entry.variables))
    return tags


def prompt_metadata(prompt: CommittedPrompt) -> PromptMetadata:
    """The prompt-level description and tags the front matter declares.

    Tags: ``prompthooks_path``, and the entries of a ``tags:`` mapping (a list of strings: each as ``<tag>: "true"``);
    ``prompthooks_prompt_tags`` lists the declared keys, so a key removed from the front matter is removed from MLflow.
    """
    metadata = prompt.content.metadata
    declared = metadata.get("tags")
    tags: dict[str, str] = {}
    if isinstance(declared, Mapping):
        tags = {str(key): tag_value(value) for key, value in declared.items() if is_user_key(str(key)) and value is not None}
    elif isinstance(declared, list):
        tags = {item: "true" for item in declared if isinstance(item, str) and is_user_key(item)}
    description = metadata.get("description")
    return PromptMetadata(
        description if isinstance(description, str) else "",
        {**tags, TAG_PATH: prompt.entry.path, TAG_PROMPT_TAGS: canonical_json(sorted(tags))},
    )


def registration(prompt: CommittedPrompt, commit: str) -> Registration:
    """What registering this prompt version sends, validated by MLflow's rules before any write.

    The template is the prompt's body: a composed prompt's content is already its flattened copy.
    """
    found = modelconfig.settings(prompt.content.metadata, prompt.entry.path)
    if found.problems:
        raise Rejected(f"{found.problems[0].describe()} (MLflow's model settings rules)", path=prompt.entry.path)
    tags = _version_tags(prompt, commit)
    text = prompt.content.body
    split = chat.chat_of(prompt.entry.path, prompt.content.metadata, text)
    template: str | list[dict[str, str]] = text
    if split is not None:
        template = split.messages
        tags[TAG_CHAT_LAYOUT] = canonical_json(split.layout)
    return Registration(template, tags, found.model_config, found.response_format)
