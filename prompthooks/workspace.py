"""Evaluate the hook's inputs: read prompt files, parse the locks, plan and render the lock."""

from __future__ import annotations

import functools
import gc
from collections.abc import Mapping
from typing import NamedTuple

from prompthooks import git, lockfile, lockplan, parallel
from prompthooks.cache import Cache
from prompthooks.config import Config
from prompthooks.errors import FatalError, raise_collected
from prompthooks.inputs import Inputs
from prompthooks.records import FragmentEntry, LockEntry, PromptFile


class Workspace(NamedTuple):
    config: Config
    plan: lockplan.LockPlan
    current: dict[str, LockEntry] | None  # the lock on disk, None when there is none
    current_raw: bytes | None
    rendered: bytes  # the lock as it should be
    current_error: lockfile.UnreadableLock | None = None  # why the lock on disk is unreadable (conflict markers, bad TOML)
    notes: tuple[str, ...] = ()  # what the user must know about the baseline (a broken lock at HEAD)
    lock_staged: str | None = None  # the lock's blob id in the index (None: untracked)
    current_fragments: dict[str, FragmentEntry] | None = None  # the lock on disk's fragment tables
    pending: dict[str, LockEntry] | None = None  # the planned entries HEAD's lock does not hold (None: not known)


def _read_prompt(path: str, locked: LockEntry | None) -> PromptFile:
    from prompthooks import promptfile  # parsing only on a cache miss

    with open(path, "rb") as file:
        return promptfile.read(file.read(), path, locked)


def _read_lock(raw: bytes, label: str, cache: Cache) -> dict[str, LockEntry]:
    return cache.lock_entries(raw, lambda: lockfile.parse(raw, label))


def _check_size(path: str, limit: int) -> None:
    from prompthooks import promptfile

    with open(path, "rb") as file:
        promptfile.check_template_size(promptfile.load(file.read(), path).content, path, limit)


def _read_retired(raw: bytes, label: str, cache: Cache) -> dict[str, str]:
    if b"\n[retired]\n" not in raw:
        return {}
    stored = cache.load("retired")
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == raw:
        return dict(stored[1])
    retired = lockfile.parse_with_retired(raw, label)[1]
    cache.store("retired", (raw, retired))
    return retired


def _read_fragments(raw: bytes | None, label: str, cache: Cache) -> dict[str, FragmentEntry]:
    if raw is None or b"\n[fragments." not in raw:
        return {}
    return cache.fragments(raw, lambda: lockfile.parse_fragments(raw, label))


Named = tuple[str, LockEntry]  # a lock entry and its prompt's name
Drafts = dict[tuple[object, ...], str]  # lock tables by chunk key, not yet read back


def _read_task(task: tuple[str, Named | None]) -> tuple[PromptFile, str | None]:
    """A file's record and, when it matches its lock entry, that entry's table rendered: planning most likely keeps it."""
    path, named = task
    record = _read_prompt(path, named[1] if named is not None else None)
    if named is None or not _matches(record, named[1]):
        return record, None
    return record, lockfile.table_text(named)


def _matches(record: PromptFile, entry: LockEntry) -> bool:
    return not entry.dependencies and (record.hash, record.variables, record.optional) == (entry.hash, entry.variables, entry.optional)


def _given(found: PromptFile | FatalError) -> PromptFile:
    if isinstance(found, FatalError):
        raise found
    return found


def _read_ahead(inputs: Inputs, cache: Cache, locked: Mapping[str, Named], drafts: Drafts) -> dict[str, PromptFile | FatalError]:
    """The files the cache does not know, read on every core when there are many (a fresh clone, a new lock).

    Their lock tables are rendered there too, so a fresh clone's ``check`` renders nothing itself.
    """
    unknown = [(path, locked.get(path)) for path, key in inputs.prompts if not cache.knows_file(path, key)]
    if len(unknown) < parallel.MIN_TASKS:
        return {}
    found = parallel.map_all(_read_task, unknown)
    if found is None:
        return {}
    records: dict[str, PromptFile | FatalError] = {}
    for (path, named), outcome in zip(unknown, found, strict=True):
        if isinstance(outcome, FatalError):
            records[path] = outcome
            continue
        records[path], table = outcome
        if named is not None and table is not None:
            drafts[lockfile.chunk_key(*named)] = table
    return records


def _read_prompts(inputs: Inputs, cache: Cache, baseline: Mapping[str, LockEntry], drafts: Drafts) -> list[tuple[str, PromptFile]]:
    """Every prompt file's record; a file whose content the baseline locked keeps the interface recorded there."""
    named = {entry.path: (name, entry) for name, entry in baseline.items()}
    locked = {path: entry for path, (_, entry) in named.items()}
    read_ahead = _read_ahead(inputs, cache, named, drafts)
    files: list[tuple[str, PromptFile]] = []
    errors: list[FatalError] = []
    limit = inputs.config.max_template_chars
    for path, key in inputs.prompts:
        read = functools.partial(_given, read_ahead[path]) if path in read_ahead else functools.partial(_read_prompt, path, locked.get(path))
        try:
            files.append((path, cache.prompt_file(path, key, read)))
            if key[2] > limit:  # a UTF-8 file has at least as many bytes as characters: only large files are read
                _check_size(path, limit)
        except FatalError as error:
            errors.append(error)
    files.extend(_read_index_prompts(inputs, cache, errors, locked))
    raise_collected(errors)
    return sorted(files)


def _read_index_prompts(inputs: Inputs, cache: Cache, errors: list[FatalError], locked: Mapping[str, LockEntry]) -> list[tuple[str, PromptFile]]:
    """Prompts outside a sparse checkout, from their staged blobs: read in one ``git cat-file`` on a cache miss."""
    if not inputs.index_prompts:
        return []
    from prompthooks import promptfile

    contents: dict[str, bytes] = {}

    def read(path: str, blob: str) -> PromptFile:
        if not contents:
            found = git.read_objects(inputs.root, [blob for _, blob in inputs.index_prompts])
            contents.update((blob, item[1]) for (_, blob), item in zip(inputs.index_prompts, found, strict=True) if item is not None)
        if blob not in contents:
            raise FatalError(f"staged blob {blob[:12]} is missing from the repository", path=path)
        return promptfile.read(contents[blob], path, locked.get(path))

    files = []
    for path, blob in inputs.index_prompts:
        try:
            files.append((path, cache.prompt_file(path, ("blob", blob), functools.partial(read, path, blob))))
        except FatalError as error:
            errors.append(error)
    return files


def _baseline(inputs: Inputs, head_lock: bytes | None, cache: Cache) -> tuple[dict[str, LockEntry], dict[str, str], tuple[str, ...]]:
    """The lock at HEAD; when it is unreadable, the newest readable lock in HEAD's history, said in a note."""
    config = inputs.config
    if head_lock is None:
        return {}, {}, ()
    label = f"HEAD:{config.lock}"
    try:
        return _read_lock(head_lock, label, cache), _read_retired(head_lock, label, cache), ()
    except lockfile.UnreadableLock as error:
        from prompthooks import versionguard

        newest = versionguard.newest_readable(inputs.root, config.lock)
        where = f"the lock of commit {newest.commit[:12]}" if newest is not None else "no lock (none in history is readable)"
        note = f"{error} (committed without the hook?); versions continue from {where}"
        return (newest.entries, newest.retired, (note,)) if newest is not None else ({}, {}, (note,))


def _render_many_ahead(entries: Mapping[str, LockEntry], cache: Cache, drafts: Drafts) -> None:
    """Tables neither the cache nor the drafts hold, written on every core when there are many (a new lock)."""
    missing = [(name, entry) for name, entry in entries.items() if (key := lockfile.chunk_key(name, entry)) not in cache.chunks and key not in drafts]
    if len(missing) < parallel.MIN_TASKS:
        return
    written = parallel.map_all(lockfile.table_text, missing)
    if written is None:
        return
    for (name, entry), text in zip(missing, written, strict=True):
        if isinstance(text, str):  # writing a table raises no FatalError: always so
            drafts[lockfile.chunk_key(name, entry)] = text


def evaluate(inputs: Inputs, cache: Cache) -> Workspace:
    collecting = gc.isenabled()
    gc.disable()  # many short-lived objects and no cycles worth finding: a cold run is about a sixth faster
    try:
        return _evaluate(inputs, cache)
    finally:
        if collecting:
            gc.enable()


def _evaluate(inputs: Inputs, cache: Cache) -> Workspace:
    config = inputs.config
    head_lock, merge_head_lock = inputs.head_locks()
    baseline, retired, notes = _baseline(inputs, head_lock, cache)
    head_readable = not notes and head_lock is not None
    locks = {inputs.heads[0][0]: baseline if head_readable else {}} if inputs.heads else {}  # what HEAD's own lock holds
    baseline_fragments = _read_fragments(head_lock, f"HEAD:{config.lock}", cache) if head_readable else {}
    parents: dict[str, set[str]] = {}
    if merge_head_lock is not None:
        label = f"MERGE_HEAD:{config.lock}"
        other = _read_lock(merge_head_lock, label, cache)
        if len(inputs.heads) > 1:
            locks[inputs.heads[1][0]] = other
        baseline, parents = lockplan.merge_baselines(baseline, other)
        retired = lockplan.merge_retired(retired, _read_retired(merge_head_lock, label, cache))
        baseline_fragments = {**_read_fragments(merge_head_lock, label, cache), **baseline_fragments}
    from prompthooks import versionguard

    many = len(inputs.prompts) >= parallel.MIN_TASKS  # then a fresh clone's history is read while the files are
    history = versionguard.held_soon(inputs.root, config.lock, dict(inputs.heads), locks, cache, meanwhile=many)
    try:
        drafts: Drafts = {}  # lock tables written by the processes that read the files: read back by render
        files = _read_prompts(inputs, cache, baseline, drafts)
        current: dict[str, LockEntry] | None = None
        current_fragments: dict[str, FragmentEntry] | None = None
        current_error: lockfile.UnreadableLock | None = None
        if inputs.current_lock is not None:
            try:
                current = _read_lock(inputs.current_lock, config.lock, cache)
                current_fragments = _read_fragments(inputs.current_lock, config.lock, cache)
            except lockfile.UnreadableLock as error:
                current_error = error
        held = history() if inputs.heads else lockplan.NO_HISTORY
        legacy = not head_readable or not lockfile.uses_dependencies(head_lock or b"")
        plan = lockplan.plan(files, baseline, config, parents, baseline_fragments, legacy, retired=retired, held=held)
        plan = plan._replace(stamps=[stamp for stamp in plan.stamps if stamp.path not in inputs.links])
        _render_many_ahead(plan.entries, cache, drafts)
        rendered = lockfile.render(plan.entries, cache.chunks, plan.fragments, plan.composed, plan.retired, drafts)
        cache.save(plan.entries, rendered, plan.fragments, plan.composed)
        pending = {name: entry for name, entry in plan.entries.items() if baseline.get(name) != entry} if len(inputs.heads) == 1 and head_readable else None
        return Workspace(config, plan, current, inputs.current_lock, rendered, current_error, notes, inputs.lock_staged, current_fragments, pending)
    finally:
        history.close()
