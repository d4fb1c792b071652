"""A cache under the git directory that keeps the hook near Python's start-up time.

Its own two files: ``clean`` holds the inputs of the last run that
needed no change, so an unchanged repository is answered without parsing
anything; ``records`` holds, per prompt file, what the file says (keyed by its
stat, like git's index), parsed locks (keyed by their bytes) and rendered lock
tables.  Other modules keep named files through ``load`` and ``store``: what the
index said (``inputs``), the last known state (``knownstore``), history summaries
(``versionguard``).  A file modified within ``RACY_NS`` of the run is never trusted by its
stat, so a same-size rewrite inside one file-system timestamp tick cannot be
missed.  Every file ends with a CRC-32 of its contents, as git's index ends with a hash of its
own: a torn or corrupted file is ignored like an unreadable or foreign one; deleting them is always safe.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any, Final

from prompthooks import __version__, git
from prompthooks.fileio import replace
from prompthooks.inputs import StatKey
from prompthooks.lockfile import Entries, Fragments, chunk_keys
from prompthooks.records import FragmentEntry, LockEntry, PromptFile

FORMAT: Final = (11, __version__, sys.version)  # 11: every file ends with a CRC-32 of what precedes it
CHECKSUM_BYTES: Final = 4
RACY_NS: Final = 2_000_000_000


def _folder(git_dir: str, boundaries: bytes) -> str:
    whole = os.path.join(git_dir, "prompthooks")
    if not boundaries:
        return whole
    commits = boundaries.count(b"\n")
    return os.path.join(whole, f"shallow-{commits}-{zlib.crc32(boundaries):08x}")


class Cache:
    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self._history: tuple[str, bytes] | None = None  # (common git dir, shallow boundaries) the cache was opened for
        self.started_ns = time.time_ns()
        self._records: tuple[dict[str, Any], dict[bytes, Any], dict[Any, str]] | None = None
        self._used_files: dict[str, tuple[StatKey, tuple[Any, ...]]] = {}
        self._used_locks: dict[bytes, dict[str, tuple[object, ...]]] = {}

    @classmethod
    def of_checkout(cls, git_dir: str, common_dir: str) -> Cache:
        """The hook's cache of a checkout: for a shallow clone, a folder of its own for each set of boundaries
        (``git.shallow_boundaries``).

        History summaries, and every answer built on them, say what a commit's history held, and a fetch
        (``--unshallow``, ``--deepen``, ``--depth``) changes that history without changing the commit.  Kept
        apart, what a cut history said is never read for another; and once the boundaries change under a
        run, the run writes nothing more (what it read may be either history).
        """
        boundaries = git.shallow_boundaries(common_dir)
        cache = cls(_folder(git_dir, boundaries))
        cache._history = (common_dir, boundaries)
        return cache

    def _read(self, name: str) -> Any:
        if self.directory is None:
            return None
        try:
            with open(os.path.join(self.directory, name), "rb") as file:
                stored = file.read()  # marshal.load(file) reads in small pieces: far slower
            payload = memoryview(stored)[:-CHECKSUM_BYTES]
            if len(stored) < CHECKSUM_BYTES or zlib.crc32(payload) != int.from_bytes(stored[-CHECKSUM_BYTES:], "big"):
                return None  # torn, or changed on disk: what it says cannot be trusted
            data = marshal.loads(payload)
        except (OSError, EOFError, ValueError, TypeError, MemoryError):  # MemoryError: a length no marshal writer made
            return None
        return data[1] if isinstance(data, tuple) and len(data) == 2 and data[0] == FORMAT else None

    def _write(self, name: str, data: object) -> None:
        if self.directory is None or (self._history is not None and git.shallow_boundaries(self._history[0]) != self._history[1]):
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            framed: Any = (FORMAT, data)
            payload = marshal.dumps(framed)
            checksum = zlib.crc32(payload).to_bytes(CHECKSUM_BYTES, "big")
            replace(os.path.join(self.directory, name), payload + checksum)  # megabytes in a monorepo: never read back to compare
        except OSError:
            pass  # a read-only git directory only costs speed

    def load(self, name: str) -> Any:
        """Another cache file of this directory (None when absent or unreadable)."""
        return self._read(name)

    def store(self, name: str, data: object) -> None:
        self._write(name, data)

    def stored(self, prefix: str) -> list[str]:
        """The names of this directory's files that start with ``prefix``, the most recently written first."""
        if self.directory is None:
            return []
        try:
            with os.scandir(self.directory) as found:
                dated = [(entry.stat().st_mtime_ns, entry.name) for entry in found if entry.name.startswith(prefix)]
        except OSError:
            return []
        return [name for _, name in sorted(dated, reverse=True)]

    def remove(self, name: str) -> None:
        if self.directory is not None:
            try:
                os.remove(os.path.join(self.directory, name))
            except OSError:
                pass

    def is_racy(self, mtime_ns: int) -> bool:
        return mtime_ns >= self.started_ns - RACY_NS

    def is_known_clean(self, fingerprint: bytes) -> bool:
        return bool(self._read("clean") == fingerprint)

    def remember_clean(self, fingerprint: bytes) -> None:
        self._write("clean", fingerprint)

    @property
    def _loaded(self) -> tuple[dict[str, Any], dict[bytes, Any], dict[Any, str]]:
        if self._records is None:
            data = self._read("records")
            self._records = data if isinstance(data, tuple) and len(data) == 3 else ({}, {}, {})
        return self._records

    @property
    def chunks(self) -> dict[tuple[object, ...], str]:
        return self._loaded[2]

    def knows_file(self, path: str, key: StatKey | tuple[str, str]) -> bool:
        cached = self._loaded[0].get(path)
        return cached is not None and cached[0] == key

    def prompt_file(self, path: str, key: StatKey | tuple[str, str], read: Callable[[], PromptFile]) -> PromptFile:
        record = PromptFile(*self._loaded[0][path][1]) if self.knows_file(path, key) else read()
        if not isinstance(key[0], int) or not self.is_racy(key[0]):
            self._used_files[path] = (key, tuple(record))  # type: ignore[assignment]
        return record

    def lock_entries(self, raw: bytes, parse: Callable[[], dict[str, LockEntry]]) -> dict[str, LockEntry]:
        cached = self._loaded[1].get(raw)
        entries = {name: LockEntry(*entry) for name, entry in cached.items()} if cached is not None else parse()
        self._used_locks[raw] = {name: tuple(entry) for name, entry in entries.items()}
        return entries

    def fragments(self, raw: bytes, parse: Callable[[], dict[str, FragmentEntry]]) -> dict[str, FragmentEntry]:
        """A lock's fragment tables, cached like its entries (under a key no lock's bytes start with)."""
        key = b"\0fragments" + raw
        cached = self._loaded[1].get(key)
        found = {path: FragmentEntry(*entry) for path, entry in cached.items()} if cached is not None else parse()
        self._used_locks[key] = {path: tuple(entry) for path, entry in found.items()}
        return found

    def save(self, rendered: Entries, rendered_bytes: bytes, fragments: Fragments | None = None, composed: bool = False) -> None:
        """Keep what this run used, and the lock it rendered: likely the one on disk next time."""
        self._used_locks[rendered_bytes] = {name: tuple(entry) for name, entry in rendered.items()}
        if fragments:
            self._used_locks[b"\0fragments" + rendered_bytes] = {path: tuple(entry) for path, entry in fragments.items()}
        keys = chunk_keys(rendered, fragments or {}, composed)
        chunks = {key: self.chunks[key] for key in keys if key in self.chunks}
        self._write("records", (self._used_files, self._used_locks, chunks))
