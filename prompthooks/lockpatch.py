"""Evaluate the hook from the last state it knew to be right, when only a few prompt files changed.

A prompt's lock entry depends on its file, HEAD's entry for its name, and the lock's history
for that name; the lock is its entries' tables, each written on its own.  After a run that left
the lock on disk exactly as planned (``remember``), a later run whose inputs differ only in a
few files' stats (and, after a commit of that lock, in HEAD) reads those files, decides their
versions as ``lockplan`` does, and replaces their tables in the lock's bytes: the other prompts
are neither read nor planned, and the lock's other tables are not written again.  The lock and
the entries it returns hold only the tables that may change, which is all ``lock`` and ``check``
compare.  Anything else (a merge, another branch, a rename, composition, many files) is
evaluated whole (``workspace.evaluate``); ``tests/lockpatch_test.py`` holds the two to the same
results.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks import git, knownstore
from prompthooks.cache import RACY_NS, Cache
from prompthooks.errors import FatalError, raise_collected
from prompthooks.inputs import STAT_BYTES, STAT_FIELDS, Inputs, pack_stats, stat_key
from prompthooks.knownstore import Known
from prompthooks.records import HASH_SCHEME_DEPENDENCIES, LockEntry, PromptFile

if TYPE_CHECKING:
    from prompthooks.workspace import Workspace

MOST: Final = 32  # changed files read here; more are read on every core by the whole evaluation


class Since(NamedTuple):
    """The last known state, and the prompt files changed since."""

    known: Known
    changed: list[str]

    def clean(self, inputs: Inputs) -> bool:
        """The very inputs of a run that found nothing to do."""
        return not self.changed and self.known.passed and (inputs.heads[0][0], inputs.lock_staged) == (self.known.head, self.known.lock_staged)


class _Table(NamedTuple):
    name: str
    entry: LockEntry
    start: int  # its bytes in the lock: from its header to the line that separates it from the next table
    end: int


def _table_around(raw: bytes, at: int) -> _Table | None:
    from prompthooks import lockfile, lockscan

    start = raw.rfind(b"\n[", 0, at) + 1
    after = raw.find(b"\n[", at)
    end = after if after >= 0 else len(raw)
    document = lockscan.scan(raw[start:end])
    if start == 0 or document is None or list(document) != ["prompts"] or len(document["prompts"]) != 1:
        return None
    [(name, table)] = document["prompts"].items()
    try:
        return _Table(name, lockfile.entry_from_table(name, table, "<lock>"), start, end)
    except FatalError:
        return None


def _table_at_path(raw: bytes, path: str) -> _Table | None:
    from prompthooks import lockfile

    line = b"\n" + lockfile.path_line(path)
    at = raw.find(line)
    if at < 0 or raw.find(line, at + 1) >= 0:
        return None
    found = _table_around(raw, at + 1)
    return found if found is not None and found.entry.path == path else None


def _retired(raw: bytes) -> dict[str, str] | None:
    from prompthooks import lockscan

    at = raw.find(b"\n[retired]\n")
    if at < 0:
        return {}
    document = lockscan.scan(raw[at + 1 :])
    return document.get("retired") if document is not None and list(document) == ["retired"] else None


def _parents(commit_object: bytes) -> list[str]:
    header = commit_object.split(b"\n\n", 1)[0]
    return [line[len(b"parent ") :].decode() for line in header.splitlines() if line.startswith(b"parent ")]


def _same_bytes(path: str, known: bytes) -> bool:
    try:
        return _bytes(path) == known
    except OSError:
        return False


def _changed(inputs: Inputs, known: Known) -> list[str] | None:
    """The prompt files to read again, or None when the set of prompts changed."""
    stats = inputs.stats
    if len(stats) != len(known.stats) or inputs.paths != known.paths:
        return None
    changed: set[int] = set()
    if stats != known.stats:  # where they differ: from the first differing file to the last, then file by file
        from prompthooks import lockdelta

        first = lockdelta.common_prefix(stats, known.stats) // STAT_BYTES
        last = (len(stats) - lockdelta.common_suffix(stats, known.stats, len(stats) - first * STAT_BYTES)) // STAT_BYTES
        for index in range(first, min(last + 1, len(stats) // STAT_BYTES)):
            at = index * STAT_BYTES
            if stats[at : at + STAT_BYTES] != known.stats[at : at + STAT_BYTES]:
                changed.add(index)
    if not changed and not known.racy:
        return []
    paths = inputs.paths.split("\0")
    racy = {paths.index(path) for path in known.racy}  # at most MOST of them, all among the known state's paths: the same as these
    for index in racy - changed:
        path = paths[index]
        written = known.racy[path]
        if written is not None and _same_bytes(path, written):
            _PLANNED[path] = written
        else:
            changed.add(index)
    return [paths[index] for index in sorted(changed)]


_LOADED: Final[dict[str | None, Known]] = {}  # the state this process read, by cache directory: kept again only when it moved
_PLANNED: Final[dict[str, bytes]] = {}  # the bytes this process's plan took recent files to hold (read, or known by their bytes)


def known_state(cache: Cache, current_lock: bytes | None) -> Known | None:
    """The last state ``remember`` kept, if any; ``current_lock``: the lock on disk (``knownstore.load``)."""
    known = knownstore.load(cache, current_lock)
    if known is not None:
        _LOADED[cache.directory] = known
    return known


def since(inputs: Inputs, known: Known | None) -> Since | None:
    """What changed since the last known state, or None when it does not apply (then the whole evaluation)."""
    _PLANNED.clear()
    if known is None:
        return None
    same = (tuple(inputs.config), inputs.index_prompts, inputs.links, inputs.current_lock) == (known.config, known.index_prompts, known.links, known.lock)
    # The scheme is named before the first table, and a lock planned with dependencies or fragments names that scheme.
    composed = HASH_SCHEME_DEPENDENCIES.encode() in known.lock[: known.lock.find(b"\n[") + 1]
    if not same or len(inputs.heads) != 1 or composed:
        return None  # another lock, a merge, or composition: evaluated whole
    changed = _changed(inputs, known)
    return Since(known, changed) if changed is not None else None


def _read(path: str, locked: LockEntry | None, limit: int) -> PromptFile:
    from prompthooks import promptfile  # YAML and Jinja: only for a file that changed

    raw = _PLANNED[path] = _bytes(path)
    found = promptfile.read(raw, path, locked)
    if len(raw) > limit:
        promptfile.check_template_size(promptfile.load(raw, path).content, path, limit)
    return found


def evaluate(inputs: Inputs, cache: Cache, found: Since) -> Workspace | None:
    """The hook's workspace from the last known state, or None when it must be evaluated whole."""
    evaluated = _evaluate(inputs, cache, found)
    if evaluated is None:
        _PLANNED.clear()  # evaluated whole instead: what that reads is not known here
    return evaluated


def _evaluate(inputs: Inputs, cache: Cache, found: Since) -> Workspace | None:
    from prompthooks import lockplan

    known, changed = found
    if len(changed) > MOST:
        return None
    config, lock = inputs.config, known.lock
    head, head_object = inputs.heads[0]
    pending = {name: LockEntry(*entry) for name, entry in known.pending.items()}  # type: ignore[arg-type]
    committed: dict[str, LockEntry] | None = None  # what HEAD's lock holds beyond its parent's: that state's pending entries
    head_lock: bytes | None = None
    if head != known.head:  # committed since: only on top of that state, with its lock
        lock_id = known.lock_id if known.lock_id is not None and len(known.lock_id) == len(head) else git.blob_id(lock, len(head))
        at_head = inputs.head_lock_id if inputs.head_lock_id is not None else git.object_ids(inputs.root, [f"{head}:{config.lock}"])[0]
        if _parents(head_object) != [known.head] or at_head != lock_id:
            return None
        head_lock, committed, pending = lock, pending, {}
    tables: list[tuple[_Table, LockEntry | None, PromptFile]] = []
    errors: list[FatalError] = []
    for path in changed:
        table = _table_at_path(lock, path)
        if table is None:
            return None
        base: LockEntry | None = table.entry  # HEAD's entry for the name, and HEAD's entry at the path
        locked = base
        if table.name in pending:
            head_lock = head_lock if head_lock is not None else inputs.head_locks()[0] or b""
            base = _entry_named(head_lock, table.name)
            at_path = _table_at_path(head_lock, path)
            locked = at_path.entry if at_path is not None else None
        try:
            record = _read(path, locked, config.max_template_chars)
        except FatalError as error:
            errors.append(error)
            continue
        except OSError:
            return None  # gone since it was listed
        if record.references or lockplan.registry_name(path, record, config) != table.name:
            return None  # composition, or a renamed prompt: evaluated whole
        tables.append((table, base, record))
    raise_collected(errors)
    return _planned(inputs, cache, known, tables, pending, committed, head_lock)


def _entry_named(raw: bytes, name: str) -> LockEntry | None:
    from prompthooks import lockfile

    at = raw.find(b"\n" + lockfile.table_header(name).encode() + b"\n")
    found = _table_around(raw, at + 2) if at >= 0 else None
    return found.entry if found is not None else None


def _planned(
    inputs: Inputs,
    cache: Cache,
    known: Known,
    tables: list[tuple[_Table, LockEntry | None, PromptFile]],
    pending: dict[str, LockEntry],
    committed: Mapping[str, LockEntry] | None,
    head_lock: bytes | None,
) -> Workspace | None:
    """Plan the changed prompts and write their tables into the lock."""
    from prompthooks import lockfile, lockplan, versionguard

    config, lock = inputs.config, known.lock
    head, head_object = inputs.heads[0]
    held = lockplan.NO_HISTORY
    if tables:
        held = versionguard.held(inputs.root, config.lock, {head: head_object}, {head: committed} if committed is not None else {}, cache)
    elif committed is not None:  # committed on top of that state, no prompt changed since: keep its history for the next change
        versionguard.note(inputs.root, config.lock, head, known.head, committed, cache)
    entries: dict[str, LockEntry] = {}
    current: dict[str, LockEntry] = {}
    changes: list[lockplan.Change] = []
    stamps: list[lockplan.Stamp] = []
    errors: list[FatalError] = []
    patched: list[tuple[int, int, bytes]] = []
    for table, base, record in sorted(tables, key=lambda item: item[0].name):
        retired: Mapping[str, str] = {}
        if base is None:
            found = _retired(head_lock if head_lock is not None else inputs.head_locks()[0] or b"")
            if found is None:
                return None
            retired = found
        try:
            entry, change, stamp = lockplan.plan_one(lockplan.Prompt(table.name, table.entry.path, record, record.hash), base, config, held=held, retired=retired)
        except FatalError as error:
            errors.append(error)
            continue
        entries[table.name], current[table.name] = entry, table.entry
        changes += [change] if change is not None else []
        stamps += [stamp] if stamp is not None and stamp.path not in inputs.links else []
        if entry != table.entry:
            patched.append((table.start, table.end, lockfile.table_bytes(table.name, entry)))
        if entry == base:
            pending.pop(table.name, None)
        else:
            pending[table.name] = entry
    raise_collected(errors)
    view, done = memoryview(lock), 0  # the lock's other bytes copied once, into the new lock
    parts: list[bytes | memoryview] = []
    for start, end, text in sorted(patched):
        parts += [view[done:start], text]
        done = end
    rendered = b"".join([*parts, view[done:]])
    from prompthooks.workspace import Workspace  # parsing and planning: only when something changed

    plan = lockplan.LockPlan(entries, changes, stamps)
    return Workspace(config, plan, current, inputs.current_lock, rendered, lock_staged=inputs.lock_staged, current_fragments={}, pending=pending)


def remember(cache: Cache, inputs: Inputs, workspace: Workspace, *, written: Mapping[str, bytes] | None, passed: bool) -> bool:
    """Keep this state when the lock on disk is now the planned one and nothing is left to stamp; whether it applies.

    ``written``: the files the command stamped or wrote, with the bytes it wrote (``lock``; None: it writes
    nothing).  A stamped file is known by those bytes while its stat is too recent to be trusted: when the
    file still holds them, it is the file the plan read.  ``passed``: the run found nothing to do.
    """
    if len(inputs.heads) != 1 or workspace.pending is None or workspace.notes or (workspace.plan.stamps and written is None):
        return False
    written = written or {}
    # The lock as this run left it (a change since is seen by the next run, which compares the lock's bytes).
    if written.get(inputs.config.lock, inputs.current_lock) != workspace.rendered:
        return False
    try:
        paths = inputs.paths.split("\0") if inputs.paths else []
        stats = bytearray(inputs.stats)
        stamped = written.keys() - {inputs.config.lock}
        restated: list[int] = []
        for index, path in enumerate(paths if stamped else ()):
            if path in stamped:  # its stat changed when it was stamped
                stats[index * STAT_BYTES : (index + 1) * STAT_BYTES] = pack_stats(list(stat_key(os.lstat(path))))
                restated.append(index)
        racy_from = cache.started_ns - RACY_NS
        mtimes = memoryview(stats).cast("q")[0::STAT_FIELDS]
        recent = {index for index, mtime in enumerate(mtimes) if mtime >= racy_from}
        # A stamped file is known by its bytes whatever its mtime: one rewritten between the stamp and the lstat
        # above, its mtime set back (``cp -p``, ``rsync -t``), would otherwise be known by a stat of other bytes.
        racy = [paths[index] for index in sorted(recent.union(restated))]
        planned = {**_PLANNED, **written}  # the bytes the plan (and its stamps) stand on
        contents = {path: planned[path] if path in planned and _same_bytes(path, planned[path]) else None for path in racy} if len(racy) <= MOST else None
    except OSError:
        return False
    if contents is None:
        return False  # too many files too recent to be known by their stats: evaluated whole until they are old enough
    pending: dict[str, tuple[object, ...]] = {name: tuple(entry) for name, entry in workspace.pending.items()}
    same = [workspace.rendered, *([workspace.current_raw] if workspace.current_raw == workspace.rendered else [])]
    lock_id = next((found for raw in same if (found := git.known_blob_id(raw, len(inputs.heads[0][0]))) is not None), None)
    known = Known(
        tuple(inputs.config), inputs.heads[0][0], inputs.paths, bytes(stats), inputs.index_prompts, inputs.links, workspace.rendered, inputs.lock_staged, passed, pending, contents, lock_id
    )
    before = _LOADED.pop(cache.directory, None)
    if before is not None and known._replace(lock_id=None) == before._replace(lock_id=None) and lock_id in (None, before.lock_id):
        return True  # the state it started from: nothing to write
    knownstore.store(cache, known)
    return True


def _bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()
