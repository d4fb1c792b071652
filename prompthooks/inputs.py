"""Collect what the hook's verdict depends on, cheaply: file stats, the locks' bytes, the config.

When these inputs are byte for byte those of the last run that found
everything in order, the verdict is known without parsing anything.
"""

from __future__ import annotations

import array
import marshal
import os
import posixpath
import stat
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from prompthooks import git, globs
from prompthooks.config import Config
from prompthooks.errors import FatalError, raise_collected

if TYPE_CHECKING:
    from prompthooks.cache import Cache

StatKey = tuple[int, int, int, int]
INDEX_CACHE: Final = "index"  # what the index says, while it is the same file
# Prompt files from which listing them takes about as long as importing Jinja2 (the first step done alongside):
# with fewer, a commit that changes no prompt would wait for an import it does not need.
OVERLAP_FROM: Final = 8000
SPLIT_FROM: Final = 4000  # prompt files: from here, a child process states half of them


class Inputs(NamedTuple):
    root: str
    config: Config
    paths: str  # the prompt files (regular files in the working tree), by repo-relative path, NUL-joined
    stats: bytes  # their stat keys, in the same order, packed (``pack_stats``): compared whole, sliced where they differ
    current_lock: bytes | None  # the lock on disk
    index_prompts: tuple[tuple[str, str], ...] = ()  # (path, staged blob id) of prompts a sparse checkout left out
    heads: tuple[tuple[str, bytes], ...] = ()  # HEAD's (and while merging MERGE_HEAD's) commit id and object
    lock_staged: str | None = None  # the lock's blob id in the index, None when untracked
    links: tuple[str, ...] = ()  # prompts that are symbolic links: read through, never rewritten
    head_lock_id: str | None = None  # the lock's blob id at HEAD ("": HEAD holds none), read with HEAD; None when not known

    def fingerprint(self, tool: tuple[object, ...]) -> bytes:
        """The inputs themselves, serialized: compared whole, so no two states can collide.

        (The locks at HEAD and MERGE_HEAD are not read for it: their commits say what they hold.)
        """
        state: Any = (tool, tuple(self.config), self.paths, self.stats, self.current_lock, self.index_prompts, self.heads, self.lock_staged, self.links)
        return marshal.dumps(state)

    @property
    def prompts(self) -> list[tuple[str, StatKey]]:
        """Each prompt file with its stat key."""
        keys = unpack_stats(self.stats)
        return list(zip(self.paths.split("\0"), keys, strict=True)) if self.paths else []

    def head_locks(self) -> tuple[bytes | None, bytes | None]:
        """The lock at HEAD (the baseline for version bumps) and, while merging, at MERGE_HEAD (a baseline too)."""
        found = git.read_objects(self.root, [f"{commit}:{self.config.lock}" for commit, _ in self.heads])
        head, merge_head = (item[1] if item is not None else None for item in [*found, None, None][:2])
        return head, merge_head

    def newest_mtime_ns(self) -> int:
        return max(memoryview(self.stats).cast("q")[0::STAT_FIELDS], default=0)


STAT_FIELDS: Final = 4  # mtime, ctime (nanoseconds), size, inode
STAT_BYTES: Final = 8 * STAT_FIELDS


def pack_stats(values: list[int]) -> bytes:
    """Stat keys' numbers, flat, as signed 64-bit integers (an inode number above 2**63 wraps around)."""
    try:
        return array.array("q", values).tobytes()
    except OverflowError:
        return array.array("q", [value - (1 << 64) if value >= 1 << 63 else value for value in values]).tobytes()


def unpack_stats(packed: bytes) -> list[StatKey]:
    values = memoryview(packed).cast("q").tolist()
    return [(values[at], values[at + 1], values[at + 2], values[at + 3]) for at in range(0, len(values), STAT_FIELDS)]


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


class _IndexState(NamedTuple):
    key: StatKey | None  # the index file's stat (None: not read, or GIT_INDEX_FILE names another index)
    trusted: bool  # written long enough ago for its stat to say it is the index read before
    stored: Any  # what the last run kept: (index stat, config, selected, sparse, lock's blob, trusted)

    def _stored_for(self, config: Config) -> bool:
        return isinstance(self.stored, tuple) and len(self.stored) == 6 and self.stored[1] == tuple(config)

    def known(self, config: Config) -> tuple[list[str], list[tuple[str, str]], str | None] | None:
        """What the last run read from this very index, when both stats can be trusted."""
        if self.key is not None and self.trusted and self._stored_for(config) and self.stored[5] and self.stored[0] == self.key:
            return self.stored[2], self.stored[3], self.stored[4]
        return None

    def changed(self, config: Config) -> bool:
        """Git (most likely) wrote the index since the last run read it: a hint, never trusted for content."""
        return self.key is None or not self._stored_for(config) or self.stored[0] != self.key

    def files_before(self) -> int:
        """How many prompt files the last run's index held (0: none known)."""
        return len(self.stored[2]) if isinstance(self.stored, tuple) and len(self.stored) == 6 and isinstance(self.stored[2], list) else 0


def _index_state(git_dir: str | None, cache: Cache | None) -> _IndexState:
    """Git replaces the index whenever it changes it (a new inode), so its stat says when to read it again."""
    index_file = os.path.join(git_dir, "index") if git_dir is not None and "GIT_INDEX_FILE" not in os.environ else None
    if index_file is None or cache is None:
        return _IndexState(None, False, None)
    try:
        key = stat_key(os.stat(index_file))
    except OSError:
        return _IndexState(None, False, None)
    return _IndexState(key, not cache.is_racy(key[0]), cache.load(INDEX_CACHE))


def _indexed(root: str, config: Config, index: _IndexState, cache: Cache | None) -> tuple[list[str], list[tuple[str, str]], str | None]:
    """The prompt files git tracks, those a sparse checkout leaves out (with their staged blobs), and the lock's staged blob.

    Read with ``git ls-files``, or kept from the last run while the index file is the same.
    """
    known = index.known(config)
    if known is not None:
        return known
    entries = git.index_entries(root)
    selected: list[str] = []
    sparse: list[tuple[str, str]] = []
    for path in globs.select(list(entries), config.include, config.exclude):
        if path == config.lock:
            continue
        if entries[path][0] == "S":  # skip-worktree, outside the sparse checkout: git commits what the index holds
            sparse.append((path, git.IndexEntry.parse(entries[path]).blob))
        else:
            selected.append(path)
    staged = git.IndexEntry.parse(entries[config.lock]).blob if config.lock in entries else None
    if index.key is not None and cache is not None:  # a racy one too, marked: the next run's ``changed`` compares it
        cache.store(INDEX_CACHE, (index.key, tuple(config), selected, sparse, staged, index.trusted))
    return selected, sparse, staged


class _Listed(NamedTuple):
    paths: str
    stats: bytes
    links: list[str]
    index_prompts: list[tuple[str, str]]
    lock_staged: str | None
    heads: list[tuple[str, bytes]]
    head_lock_id: str | None


class _Stated(NamedTuple):
    paths: list[str]
    stats: list[int]  # four numbers a file
    links: list[str]
    errors: list[FatalError]


def _stat_files(root: str, selected: Sequence[str]) -> _Stated:
    stated = _Stated([], [], [], [])
    paths, stats = stated.paths, stated.stats
    lstat, file_type, regular = os.lstat, stat.S_IFMT, stat.S_IFREG  # one call a file, tens of thousands of files
    for path in selected:
        try:
            info = lstat(path)
            if file_type(info.st_mode) == regular:
                paths.append(path)
                stats += (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
                continue
            key = _stat_prompt(root, path, stated.links)  # a link, or no file
        except FileNotFoundError:
            continue  # deleted but not yet staged: it is leaving the lock
        except FatalError as error:
            stated.errors.append(error)
            continue
        if key is not None:
            paths.append(path)
            stats += key
    return stated


def _stat_halves(root: str, selected: Sequence[str], waiting: Sequence[Callable[[], object]] = ()) -> _Stated:
    """The second half stated by a forked child while this process states the first (one interpreter cannot run
    two ``lstat`` loops at once; git's preload-index uses threads for the same reason).

    ``waiting``: steps the caller needs anyway, done after the first half while the child is still at
    work (forking costs the child a few milliseconds); those it leaves no time for are not done.
    """
    from prompthooks import parallel

    middle = len(selected) // 2
    first: list[_Stated] = []
    found = parallel.alongside(lambda: tuple(_stat_files(root, selected[middle:])), [lambda: first.append(_stat_files(root, selected[:middle])), *waiting])
    head = first[0] if first else _stat_files(root, selected[:middle])
    # No second core, or an error there: the second half is stated here, where its error is said as without a child.
    tail = _Stated(*found) if found is not None else _stat_files(root, selected[middle:])
    return _Stated(head.paths + tail.paths, head.stats + tail.stats, head.links + tail.links, head.errors + tail.errors)


def _listed(
    root: str, config: Config, git_dir: str | None, index: _IndexState, cache: Cache | None, *, split: bool = True, waiting: Sequence[Callable[[], object]] = ()
) -> _Listed:
    """The prompt files with their stats, and the commits (see ``Inputs``); the working directory must be ``root``.

    ``split``: with many files, state half of them in a child process, and meanwhile read the commits and do
    the steps of ``waiting`` (see ``_stat_halves``).
    """
    selected, index_prompts, staged = _indexed(root, config, index, cache)
    merging = git_dir is not None and os.path.exists(os.path.join(git_dir, "MERGE_HEAD"))
    commits = ["HEAD", "MERGE_HEAD"] if merging else ["HEAD"]
    lock_directory, lock_name = posixpath.split(config.lock)
    objects: list[list[tuple[str, bytes] | None]] = []

    def read_commits() -> None:  # and the lock's directory: its blob id, not its bytes
        objects.append(git.read_objects(root, [*commits, f"HEAD:{lock_directory}"]))

    if split and len(selected) >= SPLIT_FROM:
        stated = _stat_halves(root, selected, [read_commits, *waiting])
    else:
        stated = _stat_files(root, selected)
    raise_collected(stated.errors)
    if not objects:
        read_commits()
    *found, tree = objects[0]
    heads = [item for item in found if item is not None]
    head_lock_id = None if not heads else "" if tree is None else git.tree_blob_id(tree[1], lock_name, len(heads[0][0])) or ""
    return _Listed("\0".join(stated.paths), pack_stats(stated.stats), stated.links, index_prompts, staged, heads, head_lock_id)


def read_lock(config: Config) -> bytes | None:
    """The lock on disk, None when there is none; the working directory must be the root."""
    try:
        with open(config.lock, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None


def collect(
    root: str,
    config: Config,
    git_dir: str | None = None,
    cache: Cache | None = None,
    *,
    current_lock: bytes | None,
    meanwhile: Sequence[Callable[[], object]] = (),
    waiting: Sequence[Callable[[], object]] = (),
) -> Inputs:
    """Everything for ``root`` besides the lock on disk (``read_lock``, read first by the hook); the working directory must be ``root``.

    ``meanwhile``: steps of work the caller will likely need next (importing the libraries that read a
    changed file).  When the index changed since the last run, in a repository with enough prompt files
    to pay for a child process, they run while a child lists and stats the files, as long as it does
    (``parallel.alongside``); otherwise not at all.  ``waiting``: steps the caller needs in any case,
    done while a child states half the files, if one does and leaves the time.
    """
    index = _index_state(git_dir, cache)
    listed: _Listed | None = None
    if meanwhile and index.changed(config) and index.files_before() >= OVERLAP_FROM:
        from prompthooks import parallel

        found = parallel.alongside(lambda: tuple(_listed(root, config, git_dir, index, cache, split=False)), meanwhile)
        listed = _Listed(*found) if found is not None else None
    if listed is None:
        listed = _listed(root, config, git_dir, index, cache, waiting=waiting)
    heads = tuple((commit, data) for commit, data in listed.heads)
    return Inputs(root, config, listed.paths, listed.stats, current_lock, tuple(listed.index_prompts), heads, listed.lock_staged, tuple(listed.links), listed.head_lock_id)
