"""What the lock's git history says about versions: every hash each (name, version) ever named.

Versions only grow, and a version names one content forever; a rebase or a merge that
kept one side of the lock can break that in HEAD's own history, which HEAD's lock alone
cannot show.  The summary of a commit is every (name, version, hash) in the locks of the
commits it reaches, each with the commits that brought it in: a commit whose lock holds it
while its first parent's does not (``intro``).  Then, for any commit F that a summarized
commit K reaches, F's summary is K's without what only the commits in ``K ^F`` brought in,
and any other commit's is that plus the locks of the commits between it and K: a branch
switch reads the lock at the commits between, not the lock's whole history.

Summaries of recent commits are kept under the git directory; committing on top of one of
them reads nothing but HEAD's lock, which the hook parses anyway, and the new commit's summary
is kept as a whole one it stands on plus what each commit since brought in (a delta).  A whole
one is kept packed (``packedmap``): a commit reads the names it changed, not every name.  With none to start from
(a fresh clone), every version of the lock is read once, from the tables that changed
(``lockwalk``).
"""

from __future__ import annotations

import functools
import marshal
import os
from collections import ChainMap
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Final, NamedTuple, cast

from prompthooks import git
from prompthooks.cache import Cache
from prompthooks.lockplan import Held, held_hash
from prompthooks.packedmap import Packed, pack
from prompthooks.records import LockEntry

CACHE_PREFIX: Final = "history-"  # one file per summarized commit
DELTA: Final = "-on-"  # history-<commit>-on-<base>: a kept whole summary and what each commit since brought in
KEPT: Final = 8  # summaries kept: of the commits the hook saw last (each one reaches back through its history), and their bases
MOST_IN_DELTA: Final = 1024  # entries brought in since the base: then a commit's summary is kept whole
LONGEST_DELTA: Final = 256  # commits since the base: likewise
TRIED: Final = 3  # the most recent of them that a commit none was kept for is measured against (a git command each)

Intro = tuple[str, ...]  # the commits that brought a (name, version, hash) into the lock's history
Versions = dict[str, dict[str, Intro]]  # one name's: version -> held hash -> intro


class Hashes(Mapping[str, Versions]):
    """Per name, every hash each of its versions named: kept marshaled, one name at a time, until asked for.

    A commit on top of a summarized one asks for the few names it changed; the others stay bytes,
    read from the cache and written back as they were.  The dictionaries it gives are not to be changed.
    """

    def __init__(self, encoded: Mapping[str, bytes] | None = None, changed: Mapping[str, Versions] | None = None) -> None:
        self._encoded: Mapping[str, bytes] = encoded or {}
        self._changed: Mapping[str, Versions] = changed or {}  # names whose versions are not (or no longer) the encoded ones
        self._decoded: dict[str, Versions] = {}

    def __getitem__(self, name: str) -> Versions:
        if name in self._changed:
            return self._changed[name]
        found = self._decoded.get(name)
        if found is None:
            found = self._decoded[name] = marshal.loads(self._encoded[name])
        return found

    def __iter__(self) -> Iterator[str]:
        yield from self._changed
        yield from (name for name in self._encoded if name not in self._changed)

    def __len__(self) -> int:
        return len(self._changed) + sum(1 for name in self._encoded if name not in self._changed)

    def with_changes(self, changed: Mapping[str, Versions]) -> Hashes:
        return Hashes(self._encoded, {**self._changed, **changed})

    def encoded(self) -> dict[str, bytes]:
        """Every name's versions, marshaled: the ones never decoded, as they came."""
        return {**self._encoded, **{name: marshal.dumps(versions) for name, versions in self._changed.items()}}


class Summary(NamedTuple):
    hashes: Hashes
    highest: Mapping[str, str]  # per name, its highest version


EMPTY: Final = Summary(Hashes(), {})
_MEMO: Final[dict[tuple[str, str, str], Summary]] = {}  # summaries made or read in this process (check --base reuses HEAD's)


class Readable(NamedTuple):
    commit: str
    entries: dict[str, LockEntry]
    retired: dict[str, str]


def _raise(highest: MutableMapping[str, str], name: str, version: str) -> None:
    known = highest.get(name)
    if known is None:
        highest[name] = version
    elif known != version:
        from prompthooks import versioning  # only for a name with two versions

        if versioning.is_above(version, known):
            highest[name] = version


class _Growing:
    """A summary that commits add to, copied only where they change it (the one it starts from may be shared)."""

    def __init__(self, start: Summary) -> None:
        self.start = start.hashes
        self.changed: dict[str, Versions] = {}
        # Not copied: a kept summary's is read one name at a time, and only the first map is written to.
        self.highest = ChainMap({}, cast("MutableMapping[str, str]", start.highest))

    def add(self, commit: str, entries: Iterable[tuple[str, LockEntry]], *, only_new: bool) -> None:
        """``commit`` brings in these entries.  ``only_new``: what the summary holds was brought in before."""
        for name, entry in entries:
            held = held_hash(entry)
            versions = self.changed.get(name)
            if versions is None:
                versions = self.start.get(name, {})
            intro = versions.get(entry.version, {}).get(held)
            if intro is not None and (only_new or commit in intro):
                continue
            if name not in self.changed:
                versions = self.changed[name] = {version: dict(found) for version, found in versions.items()}
            versions.setdefault(entry.version, {})[held] = (*(intro or ()), commit)
            _raise(self.highest, name, entry.version)

    def summary(self) -> Summary:
        return Summary(self.start.with_changes(self.changed), self.highest)


def _union(summaries: list[Summary]) -> Summary:
    if len(summaries) == 1:
        return summaries[0]
    hashes: dict[str, Versions] = {}
    highest: dict[str, str] = {}
    for summary in summaries:
        for name, versions in summary.hashes.items():
            mine = hashes.setdefault(name, {})
            for version, found in versions.items():
                held = mine.setdefault(version, {})
                for hash_, intro in found.items():
                    held[hash_] = tuple(dict.fromkeys((*held.get(hash_, ()), *intro)))
        for name, version in summary.highest.items():
            _raise(highest, name, version)
    return Summary(Hashes(changed=hashes), highest)


def _without(summary: Summary, dropped: Collection[str]) -> Summary:
    """The summary of what ``summary``'s commit reaches minus ``dropped`` (commits only it reaches)."""
    if not dropped:
        return summary
    hashes: dict[str, Versions] = {}
    highest: dict[str, str] = {}
    for name, versions in summary.hashes.items():
        if not any(commit in dropped for found in versions.values() for intro in found.values() for commit in intro):
            hashes[name], highest[name] = versions, summary.highest[name]
            continue
        kept_versions: Versions = {}
        for version, found in versions.items():
            kept = {hash_: left for hash_, intro in found.items() if (left := tuple(c for c in intro if c not in dropped))}
            if kept:
                kept_versions[version] = kept
                _raise(highest, name, version)
        if kept_versions:
            hashes[name] = kept_versions
    return Summary(Hashes(changed=hashes), highest)


def _parents(commit_object: bytes) -> list[str]:
    header = commit_object.split(b"\n\n", 1)[0]
    return [line[len(b"parent ") :].decode() for line in header.splitlines() if line.startswith(b"parent ")]


Brought = list[tuple[str, list[tuple[str, tuple[Any, ...]]]]]  # (commit, its (name, lock entry)s), first parents first


def _kept(cache: Cache) -> dict[str, tuple[str, str | None]]:
    """The kept summaries, the most recently written first: commit -> (file name, its base; None when kept whole)."""
    found: dict[str, tuple[str, str | None]] = {}
    for name in cache.stored(CACHE_PREFIX):
        commit, _, base = name[len(CACHE_PREFIX) :].partition(DELTA)
        found.setdefault(commit, (name, base or None))
    return found


def _whole(cache: Cache, kept: Mapping[str, tuple[str, str | None]], root: str, lock_path: str, commit: str) -> Summary | None:
    found = _MEMO.get((root, lock_path, commit))
    if found is None and commit in kept and kept[commit][1] is None:
        stored = cache.load(kept[commit][0])
        if isinstance(stored, tuple) and len(stored) == 3 and stored[0] == lock_path:
            try:
                found = Summary(Hashes(Packed(stored[1])), Packed(stored[2]))
            except (TypeError, ValueError, IndexError):
                return None
            _MEMO[(root, lock_path, commit)] = found
    return found


def _brought(cache: Cache, kept: Mapping[str, tuple[str, str | None]], lock_path: str, commit: str) -> Brought | None:
    stored = cache.load(kept[commit][0]) if commit in kept and kept[commit][1] is not None else None
    return stored[1] if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == lock_path else None


def _load(cache: Cache, root: str, lock_path: str, commit: str) -> Summary | None:
    found = _MEMO.get((root, lock_path, commit))
    if found is not None:
        return found
    kept = _kept(cache)
    base = kept[commit][1] if commit in kept else None
    if base is None:
        return _whole(cache, kept, root, lock_path, commit)
    start, brought = _whole(cache, kept, root, lock_path, base), _brought(cache, kept, lock_path, commit)
    if start is None or brought is None:
        return None
    growing = _Growing(start)
    for at, entries in brought:
        growing.add(at, ((name, LockEntry(*entry)) for name, entry in entries), only_new=True)
    found = _MEMO[(root, lock_path, commit)] = growing.summary()
    return found


def _keep(cache: Cache, root: str, lock_path: str, commit: str, summary: Summary, on: tuple[str, Mapping[str, LockEntry]] | None = None) -> None:
    """Keep ``summary``; ``on``: the commit's only parent and what it brought in, to keep it as a delta when that is kept."""
    _MEMO[(root, lock_path, commit)] = summary
    if on is None or not _keep_delta(cache, lock_path, commit, *on):
        cache.store(CACHE_PREFIX + commit, (lock_path, pack(summary.hashes.encoded(), b""), pack(summary.highest, "")))
        _evict(cache)


def _keep_delta(cache: Cache, lock_path: str, commit: str, parent: str, entries: Mapping[str, LockEntry]) -> bool:
    """Keep ``commit``'s summary as its parent's base and what each commit since brought in, when the parent's is kept."""
    kept = _kept(cache)
    if parent not in kept:
        return False
    base = kept[parent][1]
    before = [] if base is None else _brought(cache, kept, lock_path, parent)
    if before is None:
        return False
    brought: Brought = [*before, (commit, [(name, tuple(entry)) for name, entry in entries.items()])]
    if len(brought) > LONGEST_DELTA or sum(len(found) for _, found in brought) > MOST_IN_DELTA:
        return False
    cache.store(f"{CACHE_PREFIX}{commit}{DELTA}{base or parent}", (lock_path, brought))
    _evict(cache)
    return True


def _evict(cache: Cache) -> None:
    """Keep the summaries of the commits written last, and the whole ones they stand on."""
    kept = _kept(cache)
    needed = set(list(kept)[:KEPT])
    needed |= {base for commit in needed if (base := kept[commit][1]) is not None}
    for commit, (name, _) in kept.items():
        if commit not in needed:
            cache.remove(name)


def note(root: str, lock_path: str, commit: str, parent: str, entries: Mapping[str, LockEntry], cache: Cache) -> None:
    """Keep the summary of ``commit`` (whose only parent is ``parent``) as a delta, when the parent's is kept, without
    reading the parent's: ``entries`` are what the commit brought in.  A commit that changed no prompt costs
    nothing then, and the next one that does reads a kept summary instead of the lock at the commits between.
    """
    if (root, lock_path, commit) not in _MEMO and commit not in _kept(cache):
        _keep_delta(cache, lock_path, commit, parent, entries)


def _walked(root: str, lock_path: str, base: Summary, revisions: list[str]) -> Summary:
    """``base`` and the locks of the commits in ``revisions`` (a range), each version read once, parents first."""
    from prompthooks import lockwalk

    growing = _Growing(base)
    for seen in lockwalk.walk(root, git.file_steps(root, revisions, lock_path), lock_path, outside_bases=True):
        growing.add(seen.step.info.sha, seen.entries.items(), only_new=False)
    return growing.summary()


def _from_kept(root: str, lock_path: str, commit: str, cache: Cache) -> Summary:
    """The summary of a commit none was kept for: from the kept one closest to it, and the commits between."""
    best: tuple[tuple[int, int], str] | None = None
    made = [known for (place, path, known) in reversed(_MEMO) if (place, path) == (root, lock_path)]  # this process's, newest first
    tips = dict.fromkeys([*made, *_kept(cache)])
    for tip in list(tips)[:TRIED]:
        counts = git.left_right_count(root, tip, commit)  # (only the kept one reaches, only this one reaches)
        if counts is not None and (best is None or (counts[1], counts[0]) < best[0]):
            best = ((counts[1], counts[0]), tip)
    if best is None:
        return _walked(root, lock_path, EMPTY, [commit])
    (to_read, to_drop), tip = best
    kept = _load(cache, root, lock_path, tip)
    if kept is None:
        return _walked(root, lock_path, EMPTY, [commit])
    base = _without(kept, set(git.rev_list(root, [tip, f"^{commit}"]))) if to_drop else kept
    return _walked(root, lock_path, base, [commit, f"^{tip}"]) if to_read else base


def summary(root: str, lock_path: str, commit: str, cache: Cache, commit_object: bytes | None = None, entries: Mapping[str, LockEntry] | None = None) -> Summary:
    """Every (name, version, hash) in the locks ``commit`` reaches.

    ``commit_object`` and ``entries`` (the lock at ``commit``, parsed; {} when it has none or an
    unreadable one) let a commit on top of summarized ones be summarized without reading history.
    """
    found = _load(cache, root, lock_path, commit)
    if found is not None:
        return found
    parents = _parents(commit_object) if commit_object is not None and entries is not None else []
    known = [_load(cache, root, lock_path, parent) for parent in parents]
    if parents and entries is not None and all(item is not None for item in known):
        growing = _Growing(_union([item for item in known if item is not None]))
        growing.add(commit, entries.items(), only_new=True)
        found = growing.summary()
        _keep(cache, root, lock_path, commit, found, (parents[0], entries) if len(parents) == 1 else None)
    else:
        found = _from_kept(root, lock_path, commit, cache)
        _keep(cache, root, lock_path, commit, found)
    return found


def held(root: str, lock_path: str, heads: Mapping[str, bytes], head_entries: Mapping[str, Mapping[str, LockEntry]], cache: Cache) -> Held:
    """The history of every commit in ``heads`` (commit id -> its commit object): HEAD, and MERGE_HEAD while merging.

    ``head_entries`` holds the already parsed locks of those commits (a commit left out: its lock is read).
    """
    summaries = [summary(root, lock_path, commit, cache, commit_object, head_entries.get(commit)) for commit, commit_object in heads.items()]
    hashes, highest = _union(summaries)
    return Held(hashes, highest)


class Soon:
    """The history of HEAD (and MERGE_HEAD), asked for later: call it for the ``Held``; ``close`` it in any case."""

    def __init__(self, later: Callable[[], Held], child: int | None = None, reading: int | None = None, key: tuple[str, str] = ("", "")) -> None:
        self._later, self._child, self._reading, self._key = later, child, reading, key

    def __call__(self) -> Held:
        if self._reading is not None:
            with os.fdopen(self._reading, "rb") as pipe:
                data = pipe.read()
            self._reading = None
            self.close()
            try:
                made = marshal.loads(data)
            except (EOFError, ValueError, TypeError):
                made = []  # the child failed: read it here, where an error is reported
            for commit, encoded, highest in made:
                _MEMO[(*self._key, commit)] = Summary(Hashes(encoded), highest)
        return self._later()

    def close(self) -> None:
        """Stop waiting for the child (it leaves when its pipe is closed) and reap it."""
        if self._reading is not None:
            os.close(self._reading)
            self._reading = None
        if self._child is not None:
            os.waitpid(self._child, 0)
            self._child = None


def held_soon(
    root: str, lock_path: str, heads: Mapping[str, bytes], head_entries: Mapping[str, Mapping[str, LockEntry]], cache: Cache, *, meanwhile: bool
) -> Soon:
    """``held``, begun now: a whole history to read (nothing summarized yet: a fresh clone) is read by a child
    process while the caller does other work on the other cores (``meanwhile``: reading many prompt files);
    anything else when asked.  Call it before any thread is started (it forks).
    """
    later = functools.partial(held, root, lock_path, heads, head_entries, cache)
    summarized = [commit for (place, path, commit) in _MEMO if (place, path) == (root, lock_path)] or cache.stored(CACHE_PREFIX)
    if summarized or not meanwhile or not heads or not hasattr(os, "fork"):
        return Soon(later)
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: summarize, hand the summaries over, and leave without running the parent's exit handlers
        try:
            os.close(reading)
            made = [(commit, *_encoded(summary(root, lock_path, commit, cache, commit_object, head_entries.get(commit)))) for commit, commit_object in heads.items()]
            with os.fdopen(writing, "wb") as pipe:
                pipe.write(marshal.dumps(made))
        finally:
            os._exit(0)
    os.close(writing)
    return Soon(later, child, reading, (root, lock_path))


def _encoded(found: Summary) -> tuple[dict[str, bytes], dict[str, str]]:
    return found.hashes.encoded(), dict(found.highest)


def introduced(found: Summary, commits: Collection[str] | None) -> dict[str, dict[str, frozenset[str]]]:
    """The (name, version, hash)es that ``commits`` (None: any commit) brought in, as versions' hashes per name."""
    result: dict[str, dict[str, frozenset[str]]] = {}
    for name, versions in found.hashes.items():
        for version, hashes in versions.items():
            brought = frozenset(hash_ for hash_, intro in hashes.items() if commits is None or any(commit in commits for commit in intro))
            if brought:
                result.setdefault(name, {})[version] = brought
    return result


def newest_readable(root: str, lock_path: str, revision: str = "HEAD") -> Readable | None:
    """The newest readable lock in ``revision``'s history (its own lock is unreadable: committed without the hook)."""
    from prompthooks import lockfile
    from prompthooks.errors import FatalError

    commits = git.lock_commits(root, ["--full-history", revision], lock_path)
    for start in range(0, len(commits), 16):
        batch = commits[start : start + 16]
        for commit, found in zip(batch, git.read_objects(root, [f"{commit}:{lock_path}" for commit in batch]), strict=True):
            if found is None:
                continue
            try:
                return Readable(commit, *lockfile.parse_with_retired(found[1], f"{commit[:12]}:{lock_path}"))
            except FatalError:
                continue  # unreadable too: it says nothing
    return None
