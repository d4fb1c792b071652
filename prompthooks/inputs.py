"""Collect what the hook's verdict depends on, cheaply: file stats, the locks' bytes, the config.

When these inputs are byte for byte those of the last run that found
everything in order, the verdict is known without parsing anything.
"""

from __future__ import annotations

import marshal
import os
import stat
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from prompthooks import git, globs
from prompthooks.config import Config
from prompthooks.errors import FatalError, raise_collected

if TYPE_CHECKING:
    from prompthooks.cache import Cache

StatKey = tuple[int, int, int, int]
INDEX_CACHE: Final = "index"  # what the index says, while it is the same file


class Inputs(NamedTuple):
    root: str
    config: Config
    prompts: list[tuple[str, StatKey]]  # regular files in the working tree, by repo-relative path
    current_lock: bytes | None  # the lock on disk
    index_prompts: tuple[tuple[str, str], ...] = ()  # (path, staged blob id) of prompts a sparse checkout left out
    heads: tuple[tuple[str, bytes], ...] = ()  # HEAD's (and while merging MERGE_HEAD's) commit id and object
    lock_staged: str | None = None  # the lock's blob id in the index, None when untracked
    links: tuple[str, ...] = ()  # prompts that are symbolic links: read through, never rewritten

    def fingerprint(self, tool: tuple[object, ...]) -> bytes:
        """The inputs themselves, serialized: compared whole, so no two states can collide.

        (The locks at HEAD and MERGE_HEAD are not read for it: their commits say what they hold.)
        """
        state: Any = (tool, tuple(self.config), self.prompts, self.current_lock, self.index_prompts, self.heads, self.lock_staged, self.links)
        return marshal.dumps(state)

    def head_locks(self) -> tuple[bytes | None, bytes | None]:
        """The lock at HEAD (the baseline for version bumps) and, while merging, at MERGE_HEAD (a baseline too)."""
        found = git.read_objects(self.root, [f"{commit}:{self.config.lock}" for commit, _ in self.heads])
        head, merge_head = (item[1] if item is not None else None for item in [*found, None, None][:2])
        return head, merge_head

    def newest_mtime_ns(self) -> int:
        return max((key[0] for _, key in self.prompts), default=0)


def stat_key(info: os.stat_result) -> StatKey:
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def _stat_prompt(root: str, path: str, links: list[str]) -> StatKey | None:
    """The stat key of a prompt file, or None when it is not a regular file in the working tree; links noted in ``links``."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            links.append(path)
            if os.path.commonpath([root, os.path.realpath(path)]) != root:
                raise FatalError("symlink points outside the repository; prompts must live in the repository", path=path)
            info = os.stat(path)
    except FileNotFoundError:
        return None  # deleted but not yet staged: it is leaving the lock
    return stat_key(info) if stat.S_ISREG(info.st_mode) else None


def _indexed(root: str, config: Config, git_dir: str | None, cache: Cache | None) -> tuple[list[str], list[tuple[str, str]], str | None]:
    """The prompt files git tracks, those a sparse checkout leaves out (with their staged blobs), and the lock's staged blob.

    Read with ``git ls-files``, or kept from the last run while the index file is the same: git
    replaces the index whenever it changes it (a new inode), so its stat says when to read it again.
    """
    index_file = os.path.join(git_dir, "index") if git_dir is not None and "GIT_INDEX_FILE" not in os.environ else None
    key: StatKey | None = None
    if index_file is not None and cache is not None:
        try:
            key = stat_key(os.stat(index_file))
        except OSError:
            key = None
        if key is not None and cache.is_racy(key[0]):
            key = None
        stored = cache.load(INDEX_CACHE) if key is not None else None
        if isinstance(stored, tuple) and len(stored) == 5 and stored[:2] == (key, tuple(config)):
            return stored[2], stored[3], stored[4]
    index = git.index_entries(root)
    selected: list[str] = []
    sparse: list[tuple[str, str]] = []
    for path in globs.select(list(index), config.include, config.exclude):
        if path == config.lock:
            continue
        if index[path][0] == "S":  # skip-worktree, outside the sparse checkout: git commits what the index holds
            sparse.append((path, git.IndexEntry.parse(index[path]).blob))
        else:
            selected.append(path)
    staged = git.IndexEntry.parse(index[config.lock]).blob if config.lock in index else None
    if key is not None and cache is not None:
        cache.store(INDEX_CACHE, (key, tuple(config), selected, sparse, staged))
    return selected, sparse, staged


def collect(root: str, config: Config, git_dir: str | None = None, cache: Cache | None = None) -> Inputs:
    """Everything for ``root``; the working directory must be ``root``."""
    prompts: list[tuple[str, StatKey]] = []
    links: list[str] = []
    errors: list[FatalError] = []
    selected, index_prompts, staged = _indexed(root, config, git_dir, cache)
    lstat, file_type, regular = os.lstat, stat.S_IFMT, stat.S_IFREG  # one call a file, tens of thousands of files
    for path in selected:
        try:
            info = lstat(path)
            if file_type(info.st_mode) == regular:
                prompts.append((path, (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)))
                continue
            key = _stat_prompt(root, path, links)  # a link, or no file
        except FileNotFoundError:
            continue  # deleted but not yet staged: it is leaving the lock
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
    revisions = ["HEAD", "MERGE_HEAD"] if merging else ["HEAD"]
    heads = tuple(found for found in git.read_objects(root, revisions) if found is not None)
    return Inputs(root, config, prompts, current_lock, tuple(index_prompts), heads, staged, tuple(links))
