"""Walk the lock's history, commit by commit, reading each version of it once and parsing what changed.

``git log --raw`` names the lock's blob before and after each commit that changed it,
without reading either.  The versions are then read together: a few with one
``git cat-file``, many as one ``git pack-objects`` of them (git's own deltas, a few
hundred bytes per version, see ``packfile``).  Each version is parsed from the tables
that differ from its first parent's (``lockdelta``), whole only when that is not sound.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Final, NamedTuple

from prompthooks import git, lockdelta, packfile
from prompthooks.errors import FatalError
from prompthooks.records import LockEntry

PACKED_FROM: Final = 16  # versions to read: fewer are read with one `git cat-file`, more as a pack


class Seen(NamedTuple):
    step: git.FileStep
    entries: dict[str, LockEntry]  # what this commit's lock may have added: all its entries, or those of the tables that changed
    whole: bool  # ``entries`` is the whole lock (read whole; empty when it is unreadable)
    error: FatalError | None = None  # why it is unreadable

    @property
    def readable(self) -> bool:
        return self.error is None


def read_blobs(root: str, object_ids: list[str]) -> Callable[[str], bytes]:
    """A reader of these blobs (each read from git once, here): one ``git cat-file`` for a few, a pack for many."""
    if len(object_ids) >= PACKED_FROM:
        try:
            with tempfile.TemporaryDirectory(prefix="prompthooks-") as directory:
                path = git.pack_blobs(root, object_ids, directory)
                with open(path + ".pack", "rb") as pack_file, open(path + ".idx", "rb") as index_file:
                    pack = packfile.Pack(pack_file.read(), index_file.read(), len(object_ids[0]) // 2)
        except (FatalError, OSError, packfile.PackError):
            pass  # a repository git cannot pack from (objects missing): read them one by one below
        else:
            return pack.get
    found = dict(zip(object_ids, git.read_objects(root, object_ids), strict=True))

    def get(object_id: str) -> bytes:
        item = found.pop(object_id)
        if item is None:
            raise FatalError(f"blob {object_id[:12]} of the lock's history is missing from the repository")
        return item[1]

    return get


def walk(root: str, steps: Sequence[git.FileStep], lock_path: str, *, outside_bases: bool) -> Iterator[Seen]:
    """What each step's lock holds, oldest first; a lock that did not change (a merge that kept one side) is skipped.

    ``outside_bases``: a first parent's lock that no earlier step wrote is read too, so the lock
    after it can be read from what changed (for history summaries); otherwise that lock is read whole.
    """
    steps = [step for step in steps if step.new is not None and step.new != step.old]
    uses = Counter(blob for step in steps for blob in (step.old, step.new) if blob is not None)
    written = {step.new for step in steps}
    wanted = [blob for blob in uses if blob in written or outside_bases]
    get = read_blobs(root, wanted)
    known: dict[str, tuple[bytes, bool]] = {}  # versions still to be used: bytes, derivable

    def state(blob: str, label: str) -> tuple[bytes, bool]:
        if blob not in known:
            raw = get(blob)
            known[blob] = (raw, lockdelta.read(raw, label).derivable)
        return known[blob]

    def used(blob: str | None) -> None:
        if blob is not None:
            uses[blob] -= 1
            if not uses[blob]:
                known.pop(blob, None)

    for step in steps:
        assert step.new is not None
        label = f"{step.info.sha[:12]}:{lock_path}"
        before = None
        if step.old is not None and (step.old in known or (outside_bases and step.old not in written)):
            before = state(step.old, label)
        raw = known[step.new][0] if step.new in known else get(step.new)
        entries = lockdelta.changed(before[0], raw, label) if before is not None and before[1] else None
        if entries is not None:
            known[step.new] = (raw, True)
            yield Seen(step, entries, False)
        else:
            whole = lockdelta.read(raw, label)
            known[step.new] = (raw, whole.derivable)
            yield Seen(step, whole.entries or {}, True, whole.error)
        used(step.old)
        used(step.new)
