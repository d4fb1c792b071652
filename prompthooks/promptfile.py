"""What one prompt file says: its front-matter keys and its content hash.

Nothing here depends on configuration, so a ``PromptFile`` can be cached per
file and reused until the file's bytes change.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from prompthooks import frontmatter, modelconfig, variables, versioning
from prompthooks.errors import FatalError, raise_collected
from prompthooks.hashing import PromptContent, content_hash
from prompthooks.records import Interface, LockEntry, PromptFile

RESERVED_KEYS: Final = frozenset({"version", "bump"})
PROMPTY_SUFFIX: Final = ".prompty"


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n")


class Loaded(NamedTuple):
    text: str  # decoded, BOM removed, line endings as in the file
    document: frontmatter.Document
    content: PromptContent


_CONFLICT_MARKER = re.compile(r"^(?:<{7}|>{7})(?: |$)", re.MULTILINE)


def load(raw: bytes, path: str) -> Loaded:
    if not raw.strip():
        raise FatalError("empty prompt file", path=path)
    text = frontmatter.decode(raw, path)
    marker = _CONFLICT_MARKER.search(text)
    if marker is not None:
        line = text.count("\n", 0, marker.start()) + 1
        raise FatalError("unresolved merge conflict marker; resolve the conflict first", path=path, line=line)
    document = frontmatter.parse(text, path)
    data = document.front_matter.data if document.front_matter else {}
    metadata = {key: value for key, value in data.items() if key not in RESERVED_KEYS}
    return Loaded(text, document, PromptContent(normalize_newlines(document.body), metadata))


def check_template_size(content: PromptContent, path: str, limit: int) -> None:
    """Refuse a template the registry would refuse at every sync (``max_template_chars``, MLflow's limit by default)."""
    if len(content.body) > limit:
        raise FatalError(
            f"template is {len(content.body)} characters, over the registry's limit of {limit} "
            "(max_template_chars under [tool.prompthooks]); split the prompt or shorten it",
            path=path,
        )


def _key_line(text: str, front_matter: frontmatter.FrontMatter, key: str) -> int:
    region = text[front_matter.start : front_matter.end]
    match = re.search(rf"^[ \t]*{key}[ \t]*:", region, re.MULTILINE)
    return front_matter.first_line + (region.count("\n", 0, match.start()) if match else 0)


def _field_line(text: str, front_matter: frontmatter.FrontMatter, field: tuple[str | int, ...]) -> int:
    """The line of a nested front-matter key (block style); the nearest enclosing key's line when it is not found."""
    region = text[front_matter.start : front_matter.end]
    offset, line = 0, front_matter.first_line
    for part in field:
        if isinstance(part, int):
            continue
        match = re.compile(rf"^[ \t-]*[\"']?{re.escape(part)}[\"']?[ \t]*:", re.MULTILINE).search(region, offset)
        if match is None:
            break
        offset, line = match.end(), front_matter.first_line + region.count("\n", 0, match.start())
    return line


def _check_settings(text: str, front_matter: frontmatter.FrontMatter, metadata: dict[str, object], path: str) -> None:
    """Model settings and response formats by MLflow's rules, so a bad one fails here rather than in sync."""
    found = modelconfig.settings(metadata, path)
    raise_collected(
        [FatalError(f"{problem.describe()} (MLflow's model settings rules)", path=path, line=_field_line(text, front_matter, problem.field)) for problem in found.problems]
    )


def read(raw: bytes, path: str, locked: LockEntry | None = None) -> PromptFile:
    """Validate one prompt file and summarise it; errors name the file and line.

    ``locked``: the lock's entry at this path, if any (see ``locked_interface``).
    """
    return summarize(load(raw, path), path, locked)


def locked_interface(path: str, content: PromptContent, hash_: str, locked: LockEntry | None) -> Interface | None:
    """The interface a lock recorded for this very content, so its template need not be parsed again.

    The same path (so the same template syntax) and the same hash (so the same
    body and metadata) give the same interface, for a prompt that uses no other
    template (its hash is its own) and cannot (so it has no references to find).
    Anything else is analysed in full.  This is what keeps a fresh clone's
    ``check`` close to the cost of reading its files.
    """
    if locked is None or locked.variables is None or locked.dependencies or locked.path != path or locked.hash != hash_:
        return None
    if variables.may_reference(content.body, path, content.metadata):
        return None
    if path.endswith(".prompt") and variables.declared_interface(path, content.metadata) is not None:
        return None  # its body is checked against the declaration on every read: a clone's check refuses what a commit would
    return Interface(locked.variables, locked.optional)


def summarize(loaded: Loaded, path: str, locked: LockEntry | None = None) -> PromptFile:
    text, document, content = loaded
    front_matter = document.front_matter
    hash_ = content_hash(content)
    found = locked_interface(path, content, hash_, locked)
    if found is None:
        first_body_line = text.count("\n", 0, len(text) - len(document.body)) + 1
        found = variables.analyse(content.body, path, content.metadata, first_body_line)
    interface = (found.required, found.optional, found.references)
    if front_matter is None:
        return PromptFile(False, None, None, None, hash_, *interface)
    data = front_matter.data
    if modelconfig.has_settings(content.metadata):
        _check_settings(text, front_matter, content.metadata, path)

    def invalid(key: str, message: str) -> FatalError:
        return FatalError(message, path=path, line=_key_line(text, front_matter, key))

    name = data.get("name")
    if path.endswith(PROMPTY_SUFFIX):
        name = None  # Prompty's ``name`` is a display name, shared by many files.
    elif name is not None and not isinstance(name, str):
        raise invalid("name", f"name must be a string, not {name!r}")
    version = data.get("version")
    if version is not None:
        try:
            versioning.parse_version(version)
        except ValueError as error:
            raise invalid("version", str(error)) from None
    bump = data.get("bump")
    if bump is not None:
        try:
            versioning.parse_increment(bump)
        except ValueError as error:
            raise invalid("bump", str(error)) from None
    return PromptFile(True, name, version, bump, hash_, *interface)
