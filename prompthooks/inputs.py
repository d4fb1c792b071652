"""Collect what the hook's verdict depends on, cheaply: file stats, the locks' bytes, the config.

When these inputs are byte for byte those of the last run that found
everything in order, the verdict is known without parsing anything.
"""

from __future__ import annotations

import marshal
import os
import stat
from typing import Any, NamedTuple

from prompthooks import git, globs
from prompthooks.config import Config
from prompthooks.errors import FatalError, raise_collected

StatKey = tuple[int, int, int, int]


class Inputs(NamedTuple):
    root: str
    config: Config
    prompts: list[tuple[str, StatKey]]  # regular files in the working tree, by repo-relative path
    head_lock: bytes | None  # the lock at HEAD: the baseline for version bumps
    current_lock: bytes | None  # the lock on disk
    merge_head_lock: bytes | None = None  # during a merge, the other parent's lock: a baseline too

    def fingerprint(self, tool: tuple[object, ...]) -> bytes:
        """The inputs themselves, serialized: compared whole, so no two states can collide."""
        state: Any = (tool, tuple(self.config), self.prompts, self.head_lock, self.current_lock, self.merge_head_lock)
        return marshal.dumps(state)

    def newest_mtime_ns(self) -> int:
        return max((key[0] for _, key in self.prompts), default=0)


def stat_key(info: os.stat_result) -> StatKey:
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def _stat_prompt(root: str, path: str) -> StatKey | None:
    """The stat key of a prompt file, or None when it is not a regular file in the working tree."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            if os.path.commonpath([root, os.path.realpath(path)]) != root:
                raise FatalError("symlink points outside the repository; prompts must live in the repository", path=path)
            info = os.stat(path)
    except FileNotFoundError:
        return None  # deleted but not yet staged: it is leaving the lock
    return stat_key(info) if stat.S_ISREG(info.st_mode) else None


def collect(root: str, config: Config, git_dir: str | None = None) -> Inputs:
    """Everything for ``root``; the working directory must be ``root``."""
    prompts: list[tuple[str, StatKey]] = []
    errors: list[FatalError] = []
    for path in globs.select(git.indexed_files(root), config.include, config.exclude):
        if path == config.lock:
            continue
        try:
            key = _stat_prompt(root, path)
        except FatalError as error:
            errors.append(error)
            continue
        if key is not None:
            prompts.append((path, key))
    raise_collected(errors)
    try:
        with open(config.lock, "rb") as file:
            current_lock: bytes | None = file.read()
    except FileNotFoundError:
        current_lock = None
    merging = git_dir is not None and os.path.exists(os.path.join(git_dir, "MERGE_HEAD"))
    merge_head_lock = git.blob_at_revision(root, "MERGE_HEAD", config.lock) if merging else None
    return Inputs(root, config, prompts, git.blob_at_revision(root, "HEAD", config.lock), current_lock, merge_head_lock)
