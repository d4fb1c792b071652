"""Gather what the hook decides from: prompt files, the lock at HEAD, the lock on disk."""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from prompthooks import git, globs, lockfile, planning
from prompthooks.cache import Cache, stat_key
from prompthooks.config import Config
from prompthooks.errors import FatalError, FatalErrors
from prompthooks.lockfile import LockEntry
from prompthooks.promptfile import PromptFile


class Workspace(NamedTuple):
    root: str
    config: Config
    plan: planning.Plan
    current: dict[str, LockEntry] | None  # the lock on disk, None when there is none
    current_raw: bytes | None
    rendered: bytes  # the lock as it should be


def _read_prompt(path: str) -> PromptFile:
    from prompthooks import promptfile  # parsing only on a cache miss

    with open(path, "rb") as file:
        return promptfile.read(file.read(), path)


def _prompt_file(root: str, path: str, cache: Cache) -> PromptFile | None:
    """What ``path`` says, or None when it is not a regular file in the working tree."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            target = os.path.realpath(path)
            if os.path.commonpath([root, target]) != root:
                raise FatalError("symlink points outside the repository; prompts must live in the repository", path=path)
            info = os.stat(path)
    except FileNotFoundError:
        return None  # deleted but not yet staged: it is leaving the lock
    if not stat.S_ISREG(info.st_mode):
        return None
    return cache.prompt_file(path, stat_key(info), lambda: _read_prompt(path))


def _read_lock(raw: bytes, label: str, cache: Cache) -> dict[str, LockEntry]:
    return cache.lock_entries(raw, lambda: lockfile.parse(raw, label))


def load(root: str, config: Config, cache: Cache) -> Workspace:
    """Everything for ``root`` (the working directory must be ``root``)."""
    paths = globs.select(git.indexed_files(root), config.include, config.exclude)
    files: list[tuple[str, PromptFile]] = []
    errors: list[FatalError] = []
    for path in paths:
        if path == config.lock:
            continue
        try:
            record = _prompt_file(root, path, cache)
        except FatalError as error:
            errors.append(error)
            continue
        if record is not None:
            files.append((path, record))
    if errors:
        raise errors[0] if len(errors) == 1 else FatalErrors(errors)
    head_raw = git.blob_at_head(root, config.lock)
    baseline = _read_lock(head_raw, f"HEAD:{config.lock}", cache) if head_raw is not None else {}
    try:
        with open(config.lock, "rb") as file:
            current_raw: bytes | None = file.read()
    except FileNotFoundError:
        current_raw = None
    current = _read_lock(current_raw, config.lock, cache) if current_raw is not None else None
    plan = planning.plan(files, baseline, config)
    rendered = lockfile.render(plan.entries, cache.chunks)
    cache.save(plan.entries)
    return Workspace(root, config, plan, current, current_raw, rendered)
