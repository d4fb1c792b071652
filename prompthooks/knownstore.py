"""Keep the hook's last known state under the git directory: whole, or as a patch on a whole one.

The state (``Known``) holds the lock's bytes and every prompt file's stat: megabytes in a
monorepo, where a commit that changes one prompt changes a few hundred bytes of it.  So a
state is kept as the whole one this process loaded plus what differs from it (``known-patch``),
and written whole again only when that grows past ``MOST_PATCHED``.  A patch names the whole
state it applies to by that state's token; a patch on any other (a stale one, or one written
beside a concurrent run's whole state) is never applied.
"""

from __future__ import annotations

import marshal
import os
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from prompthooks.cache import Cache

CACHE_FILE: Final = "known"
PATCH_FILE: Final = "known-patch"
PASSED_FILE: Final = "known-passed"  # whether the last state kept found nothing to do: read before the state itself
MOST_PATCHED: Final = 1 << 16  # bytes a patch may hold: more, and the state is written whole
SPLICED: Final = ("lock", "stats")  # the fields a patch holds as spliced bytes (the others, when they differ, whole)


class Known(NamedTuple):
    """A state in which the lock on disk was exactly the planned one, with nothing left to stamp."""

    config: tuple[object, ...]
    head: str
    paths: str  # the prompt files, NUL-joined
    stats: bytes  # their stat keys, packed: four signed 64-bit numbers a file
    index_prompts: tuple[tuple[str, str], ...]
    links: tuple[str, ...]
    lock: bytes
    lock_staged: str | None
    passed: bool  # that run found nothing to do: the same inputs need no run
    pending: dict[str, tuple[object, ...]]  # its entries that HEAD's lock does not hold (LockEntry as a tuple)
    racy: dict[str, bytes | None]  # files modified within the racy window before that run, not known by their stat: the bytes it wrote (stamps)
    lock_id: str | None  # the lock's blob id, when that run computed it (to stage it): a commit of it is known without hashing it


Splice = tuple[int, int, bytes]  # (start, end) of the old bytes, replaced by these


_WHOLE: Final[dict[str | None, tuple[bytes, Known]]] = {}  # the whole state this process loaded or wrote, with its token, by cache directory


def load(cache: Cache, lock: bytes | None = None) -> Known | None:
    """The last state ``store`` kept, if any.

    ``lock``: the lock on disk.  When the state's lock is these very bytes, the state holds this object:
    a monorepo's lock is compared where the patch applies, not copied.
    """
    _WHOLE.pop(cache.directory, None)
    stored = cache.load(CACHE_FILE)
    if not (isinstance(stored, tuple) and len(stored) == 2 and isinstance(stored[1], tuple) and len(stored[1]) == len(Known._fields)):
        return None
    token, whole = stored[0], Known(*stored[1])
    _WHOLE[cache.directory] = (token, whole)
    patch = cache.load(PATCH_FILE)
    if not (isinstance(patch, tuple) and len(patch) == 2 and patch[0] == token and isinstance(patch[1], dict)):
        return whole  # none, or one on another whole state
    try:
        return _patched(whole, patch[1], lock)
    except (TypeError, ValueError, IndexError):
        return None


def passed(cache: Cache) -> bool:
    """Whether the last state kept found nothing to do (a hint, read without the state: the state says for sure)."""
    return cache.load(PASSED_FILE) is True


def store(cache: Cache, known: Known) -> None:
    """Keep ``known``: as a patch on the whole state this process loaded, when that is small; else whole."""
    cache.store(PASSED_FILE, known.passed)
    held = _WHOLE.get(cache.directory)
    patch = _patch(held[1], known) if held is not None else None
    if held is not None and patch is not None:
        cache.store(PATCH_FILE, (held[0], patch))
        return
    token = os.urandom(16)
    cache.store(CACHE_FILE, (token, tuple(known)))
    cache.remove(PATCH_FILE)  # on the whole state just replaced: never applied again, and now not read either
    _WHOLE[cache.directory] = (token, known)


def _patch(whole: Known, known: Known) -> dict[str, Any] | None:
    """What differs from ``whole``: the fields that do, the lock and the stats as splices; None when too large."""
    changed: dict[str, Any] = {field: value for field, value, before in zip(Known._fields, known, whole, strict=True) if value != before}
    if "paths" in changed:
        return None  # another set of prompt files: the stats are another list
    for field in SPLICED:
        if field in changed:
            changed[field] = splice(getattr(whole, field), changed[field])
    return changed if len(marshal.dumps(changed)) <= MOST_PATCHED else None


def _patched(whole: Known, patch: dict[str, Any], lock: bytes | None) -> Known:
    fields = {field: value for field, value in patch.items() if field in Known._fields}
    for field in SPLICED:
        if field in fields:
            old, splice_ = getattr(whole, field), fields[field]
            fields[field] = lock if field == "lock" and lock is not None and splices_into(old, splice_, lock) else spliced(old, splice_)
    return whole._replace(**fields)


def splice(old: bytes, new: bytes) -> Splice:
    """The one region in which ``new`` differs from ``old``: what ``spliced`` turns ``old`` into ``new`` with."""
    from prompthooks.lockdelta import common_prefix, common_suffix

    start = common_prefix(old, new)
    suffix = common_suffix(old, new, min(len(old), len(new)) - start)
    return start, len(old) - suffix, new[start : len(new) - suffix]


def splices_into(old: bytes, splice_: Splice, new: bytes) -> bool:
    """Whether ``spliced(old, splice_)`` is ``new``, copying nothing."""
    start, end, middle = splice_
    if not 0 <= start <= end <= len(old) or len(new) != start + len(middle) + len(old) - end:
        return False
    view = memoryview(old)
    return new.startswith(view[:start]) and new.startswith(middle, start) and new.endswith(view[end:])


def spliced(old: bytes, splice_: Splice) -> bytes:
    start, end, middle = splice_
    if not 0 <= start <= end <= len(old):
        raise ValueError("a splice outside the bytes it applies to")
    return b"".join((old[:start], middle, old[end:]))
