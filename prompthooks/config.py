"""The ``[tool.prompthooks]`` table of ``pyproject.toml``."""

from __future__ import annotations

import os
from typing import Final, NamedTuple

from prompthooks import git
from prompthooks.errors import FatalError

PYPROJECT: Final = "pyproject.toml"
MLFLOW_MAX_TEMPLATE_CHARS: Final = 100_000
"""MLflow refuses a prompt version whose template (its ``mlflow.prompt.text`` tag) is longer, counted in characters
(``MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH`` in ``mlflow/utils/validation.py``)."""
NAME_FROM_CHOICES: Final = ("filename", "path")


class Config(NamedTuple):
    include: tuple[str, ...] = (
        "*.jinja2",
        "*.j2",
        "*.jinja",
        "*.prompt",
        "*.prompty",
        "**/prompts/**/*.md",
        "**/prompt/**/*.md",
        "**/prompts/**/*.txt",
        "**/prompt/**/*.txt",
    )
    exclude: tuple[str, ...] = ("README.md",)
    lock: str = "prompts.lock"
    initial_version: str = "1.0.0"
    default_bump: str = "patch"
    name_from: str = "filename"
    max_template_chars: int = MLFLOW_MAX_TEMPLATE_CHARS
    # Composition (see ``composition``): where Jinja template names are looked up, in order
    # ("." and "./sub" are relative to the prompt's folder, anything else to the repository root).
    search_path: tuple[str, ...] = (".", "/")
    fragments: tuple[str, ...] = ("_*",)  # Jinja files that only exist to be included: locked, never registered
    allow_unresolved: bool = False  # a dynamic or missing template name: an error unless true
    deployments_experiment: str = "llmops-prompts"  # the MLflow experiment holding deployment records


DEFAULT: Final = Config()


def _string_list(table: dict[str, object], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FatalError(f"[tool.prompthooks] {key} must be a list of strings", path=PYPROJECT)
    return tuple(value)


def _string(table: dict[str, object], key: str, default: str, choices: tuple[str, ...] = ()) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (choices and value not in choices):
        expected = f"one of {', '.join(choices)}" if choices else "a string"
        raise FatalError(f"[tool.prompthooks] {key} must be {expected}, not {value!r}", path=PYPROJECT)
    return value


def _positive_int(table: dict[str, object], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FatalError(f"[tool.prompthooks] {key} must be a positive integer, not {value!r}", path=PYPROJECT)
    return value


def _boolean(table: dict[str, object], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise FatalError(f"[tool.prompthooks] {key} must be true or false, not {value!r}", path=PYPROJECT)
    return value


def from_table(table: dict[str, object]) -> Config:
    from prompthooks import versioning

    known = set(Config._fields)
    unknown = sorted(set(table) - known)
    if unknown:
        raise FatalError(f"unknown key [tool.prompthooks] {unknown[0]} (known: {', '.join(sorted(known))})", path=PYPROJECT)
    config = Config(
        include=_string_list(table, "include", DEFAULT.include),
        exclude=_string_list(table, "exclude", DEFAULT.exclude),
        lock=_string(table, "lock", DEFAULT.lock),
        initial_version=_string(table, "initial_version", DEFAULT.initial_version),
        default_bump=_string(table, "default_bump", DEFAULT.default_bump, versioning.BUMP_NAMES),
        name_from=_string(table, "name_from", DEFAULT.name_from, NAME_FROM_CHOICES),
        max_template_chars=_positive_int(table, "max_template_chars", DEFAULT.max_template_chars),
        search_path=_string_list(table, "search_path", DEFAULT.search_path),
        fragments=_string_list(table, "fragments", DEFAULT.fragments),
        allow_unresolved=_boolean(table, "allow_unresolved", DEFAULT.allow_unresolved),
        deployments_experiment=_string(table, "deployments_experiment", DEFAULT.deployments_experiment),
    )
    try:
        versioning.parse_version(config.initial_version)
    except ValueError as error:
        raise FatalError(f"[tool.prompthooks] initial_version: {error}", path=PYPROJECT) from None
    return config


def parse(raw: bytes) -> Config:
    """The configuration in a ``pyproject.toml``'s bytes (defaults when it has none)."""
    if b"tool.prompthooks" not in raw:
        return DEFAULT  # the common case, without paying for a TOML parser
    from prompthooks import tomlread

    document = tomlread.loads(raw, PYPROJECT)
    table = document.get("tool", {}).get("prompthooks", {})
    if not isinstance(table, dict):
        raise FatalError("[tool.prompthooks] must be a table", path=PYPROJECT)
    return from_table(table)


def at_commit(repo: git.Repo, commit: str) -> Config:
    """The configuration as committed in ``commit``."""
    raw = git.blob_at(repo, commit, PYPROJECT)
    return parse(raw) if raw is not None else DEFAULT


def load(root: str) -> Config:
    try:
        with open(os.path.join(root, PYPROJECT), "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        return DEFAULT
    return parse(raw)
