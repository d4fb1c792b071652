"""The ``[tool.prompthooks]`` table of ``pyproject.toml``."""

from __future__ import annotations

import os
from typing import Final, NamedTuple

from prompthooks import git
from prompthooks.errors import FatalError

PYPROJECT: Final = "pyproject.toml"
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
