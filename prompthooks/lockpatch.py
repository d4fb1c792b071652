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
from typing import Final, NamedTuple

from prompthooks import git, lockfile, lockplan, lockscan
from prompthooks.cache import RACY_NS, Cache
from prompthooks.errors import FatalError, raise_collected
from prompthooks.inputs import Inputs, StatKey, stat_key
from prompthooks.records import LockEntry, PromptFile
from prompthooks.workspace import Workspace

CACHE_FILE: Final = "known"
MOST: Final = 32  # changed files read here; more are read on every core by the whole evaluation


class Known(NamedTuple):
    """A state in which the lock on disk was exactly the planned one, with nothing left to stamp."""

    config: tuple[object, ...]
    head: str
    prompts: list[tuple[str, StatKey]]
    index_prompts: tuple[tuple[str, str], ...]
    links: tuple[str, ...]
    lock: bytes
    pending: dict[str, tuple[object, ...]]  # its entries that HEAD's lock does not hold (LockEntry as a tuple)
    started_ns: int  # files modified since, or within the racy window before, are not known by their stat
    racy: dict[str, bytes]  # such files' bytes (the ones it stamped, usually): the same bytes are the same file
    lock_id: str | None  # the lock's blob id, when that run computed it (to stage it): a commit of it is known without hashing it


class _Table(NamedTuple):
    name: str
    entry: LockEntry
    start: int  # its bytes in the lock: from its header to the line that separates it from the next table
    end: int


def _table_around(raw: bytes, at: int) -> _Table | None:
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
    line = b"\n" + lockfile.path_line(path)
    at = raw.find(line)
    if at < 0 or raw.find(line, at + 1) >= 0:
        return None
    found = _table_around(raw, at + 1)
    return found if found is not None and found.entry.path == path else None




def _retired(raw: bytes) -> dict[str, str] | None:
    at = raw.find(b"\n[retired]\n")
    if at < 0:
        return {}
    document = lockscan.scan(raw[at + 1 :])
    return document.get("retired") if document is not None and list(document) == ["retired"] else None


def _parents(commit_object: bytes) -> list[str]:
    header = commit_object.split(b"\n\n", 1)[0]
    return [line[len(b"parent ") :].decode() for line in header.splitlines() if line.startswith(b"parent ")]


def _same_bytes(path: str, known: bytes | None) -> bool:
    try:
        return known is not None and _bytes(path) == known
    except OSError:
        return False


def _changed(inputs: Inputs, known: Known) -> list[str] | None:
    """The prompt files to read again, or None when the set of prompts changed."""
    if len(inputs.prompts) != len(known.prompts):
        return None
    racy_from = known.started_ns - RACY_NS
    changed = []
    for (path, key), (known_path, known_key) in zip(inputs.prompts, known.prompts, strict=True):
        if path != known_path:
            return None
        if key != known_key or (known_key[0] >= racy_from and not _same_bytes(path, known.racy.get(path))):
            changed.append(path)
    return changed


_LOADED: Final[dict[str | None, Known]] = {}  # the state this process read, by cache directory: kept again only when it moved


def _load(inputs: Inputs, cache: Cache) -> Known | None:
    stored = cache.load(CACHE_FILE)
    if not (isinstance(stored, tuple) and len(stored) == len(Known._fields)):
        return None
    known = _LOADED[cache.directory] = Known(*stored)
    same = (tuple(inputs.config), inputs.index_prompts, inputs.links, inputs.current_lock) == (known.config, known.index_prompts, known.links, known.lock)
    if not same or len(inputs.heads) != 1 or lockfile.uses_dependencies(known.lock) or b"\n[fragments." in known.lock:
        return None  # another lock, a merge, or composition: evaluated whole
    return known


def _read(path: str, locked: LockEntry | None, limit: int) -> PromptFile:
    from prompthooks import promptfile  # YAML and Jinja: only for a file that changed

    raw = _bytes(path)
    found = promptfile.read(raw, path, locked)
    if len(raw) > limit:
        promptfile.check_template_size(promptfile.load(raw, path).content, path, limit)
    return found


def evaluate(inputs: Inputs, cache: Cache) -> Workspace | None:
    """The hook's workspace from the last known state, or None when it must be evaluated whole."""
    known = _load(inputs, cache)
    changed = _changed(inputs, known) if known is not None else None
    if known is None or changed is None or len(changed) > MOST:
        return None
    config, lock = inputs.config, known.lock
    head, head_object = inputs.heads[0]
    pending = {name: LockEntry(*entry) for name, entry in known.pending.items()}  # type: ignore[arg-type]
    committed: dict[str, LockEntry] | None = None  # what HEAD's lock holds beyond its parent's: that state's pending entries
    head_lock: bytes | None = None
    if head != known.head:  # committed since: only on top of that state, with its lock
        lock_id = known.lock_id if known.lock_id is not None and len(known.lock_id) == len(head) else git.blob_id(lock, len(head))
        if _parents(head_object) != [known.head] or git.object_ids(inputs.root, [f"{head}:{config.lock}"]) != [lock_id]:
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
    from prompthooks import versionguard

    config, lock = inputs.config, known.lock
    head, head_object = inputs.heads[0]
    held = lockplan.NO_HISTORY
    if tables:
        held = versionguard.held(inputs.root, config.lock, {head: head_object}, {head: committed} if committed is not None else {}, cache)
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
    rendered, done = bytearray(), 0
    for start, end, text in sorted(patched):
        rendered += lock[done:start] + text
        done = end
    rendered += lock[done:]
    plan = lockplan.LockPlan(entries, changes, stamps)
    return Workspace(config, plan, current, inputs.current_lock, bytes(rendered), lock_staged=inputs.lock_staged, current_fragments={}, pending=pending)


def remember(cache: Cache, inputs: Inputs, workspace: Workspace, *, stamped: bool) -> None:
    """Keep this state when the lock on disk is now the planned one and nothing is left to stamp.

    ``stamped``: the command wrote the stamps (``lock``); their files' stats are read again.
    """
    if len(inputs.heads) != 1 or workspace.pending is None or workspace.notes or (workspace.plan.stamps and not stamped):
        return
    try:
        with open(inputs.config.lock, "rb") as file:
            if file.read() != workspace.rendered:
                return
        written = {stamp.path for stamp in workspace.plan.stamps}
        prompts = [(path, stat_key(os.lstat(path)) if path in written else key) for path, key in inputs.prompts]
    except OSError:
        return
    racy_from = cache.started_ns - RACY_NS
    racy = [path for path, key in prompts if key[0] >= racy_from]
    try:
        contents = {path: _bytes(path) for path in racy} if len(racy) <= MOST else {}
    except OSError:
        return
    pending: dict[str, tuple[object, ...]] = {name: tuple(entry) for name, entry in workspace.pending.items()}
    same = [workspace.rendered, *([workspace.current_raw] if workspace.current_raw == workspace.rendered else [])]
    lock_id = next((found for raw in same if (found := git.known_blob_id(raw, len(inputs.heads[0][0]))) is not None), None)
    known = Known(tuple(inputs.config), inputs.heads[0][0], prompts, inputs.index_prompts, inputs.links, workspace.rendered, pending, cache.started_ns, contents, lock_id)
    before = _LOADED.pop(cache.directory, None)
    if before is not None and known._replace(started_ns=0, racy={}, lock_id=None) == before._replace(started_ns=0, racy={}, lock_id=None) and set(contents) <= set(before.racy) and (lock_id is None or lock_id == before.lock_id):
        return  # the state it started from: nothing to write (what was racy then is still known by its bytes)
    cache.store(CACHE_FILE, tuple(known))


def _bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()
