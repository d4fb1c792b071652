"""A stat-keyed cache under the git directory that keeps the hook near Python's start-up time.

It remembers, per prompt file, what the file says (keyed by its stat, like
git's index), parsed locks (keyed by their bytes) and rendered lock tables.
A file modified within ``RACY_NS`` of the run is not cached, so a same-size
rewrite inside one file-system timestamp tick can never be missed.  Any
unreadable or foreign cache is ignored; deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import time
from collections.abc import Callable
from typing import Any, Final

from prompthooks import __version__
from prompthooks.fileio import write_if_changed
from prompthooks.lockfile import PREAMBLE_KEY, Entries, LockEntry
from prompthooks.promptfile import PromptFile

FORMAT: Final = (1, __version__, sys.version)
RACY_NS: Final = 2_000_000_000

StatKey = tuple[int, int, int, int]


def stat_key(stat: os.stat_result) -> StatKey:
    return (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)


class Cache:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.started_ns = time.time_ns()
        self._files: dict[str, tuple[StatKey, tuple[Any, ...]]] = {}
        self._locks: dict[bytes, dict[str, tuple[str, str, str]]] = {}
        self.chunks: dict[tuple[str, str, str, str], str] = {}
        if path is not None:
            self._load(path)
        self._used_files: dict[str, tuple[StatKey, tuple[Any, ...]]] = {}
        self._used_locks: dict[bytes, dict[str, tuple[str, str, str]]] = {}

    def _load(self, path: str) -> None:
        try:
            with open(path, "rb") as file:
                data = marshal.load(file)
            if data[0] != FORMAT:
                return
            _, self._files, self._locks, self.chunks = data
        except (OSError, EOFError, ValueError, TypeError, IndexError):
            self._files, self._locks, self.chunks = {}, {}, {}

    def prompt_file(self, path: str, key: StatKey, read: Callable[[], PromptFile]) -> PromptFile:
        cached = self._files.get(path)
        if cached is not None and cached[0] == key:
            record = PromptFile(*cached[1])
        else:
            record = read()
        if key[0] < self.started_ns - RACY_NS:
            self._used_files[path] = (key, tuple(record))
        return record

    def lock_entries(self, raw: bytes, parse: Callable[[], dict[str, LockEntry]]) -> dict[str, LockEntry]:
        digest = hashlib.sha256(raw).digest()
        cached = self._locks.get(digest)
        if cached is not None:
            entries = {name: LockEntry(*entry) for name, entry in cached.items()}
        else:
            entries = parse()
        self._used_locks[digest] = {name: tuple(entry) for name, entry in entries.items()}  # type: ignore[misc]
        return entries

    def save(self, rendered: Entries) -> None:
        """Write what this run used; ``rendered`` are the entries of the lock it rendered."""
        if self.path is None:
            return
        keys = [PREAMBLE_KEY] + [(name, *entry) for name, entry in rendered.items()]
        chunks = {key: self.chunks[key] for key in keys if key in self.chunks}
        data = marshal.dumps((FORMAT, self._used_files, self._used_locks, chunks))
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            write_if_changed(self.path, data)
        except OSError:
            pass  # a read-only git directory only costs speed
