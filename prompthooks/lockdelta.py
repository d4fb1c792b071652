"""Read a version of the lock from the tables that differ from the previous version (pure).

A lock in history is read either whole (``read``, exactly as the hook reads a lock) or,
when the version before it was regular and readable (``Read.derivable``), from the bytes
that differ: everything outside them is the same tables, byte for byte, so it says what
it said there.  ``changed`` parses only the tables around the difference; whenever
anything there is out of the ordinary (a changed preamble, a table it cannot read, a
table that may now be there twice), it answers None and the caller reads the lock whole.
A commit that bumps one prompt costs a few hundred bytes of parsing, whatever the lock's
size.  ``tests/lockdelta_test.py`` checks both readings against each other.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from prompthooks import lockfile, lockscan
from prompthooks.errors import FatalError
from prompthooks.records import LockEntry

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+\Z")


class Read(NamedTuple):
    entries: dict[str, LockEntry] | None  # None: unreadable (it says nothing, as for the hook)
    derivable: bool  # regular and readable: the next version can be read from what changed
    error: FatalError | None = None  # why it is unreadable


def read(raw: bytes, label: str) -> Read:
    """The whole lock, as ``lockfile.parse_with_retired`` reads it."""
    try:
        entries, regular = lockfile.parse_history(raw, label)
    except FatalError as error:
        return Read(None, False, error)
    return Read(entries, regular)


def common_prefix(one: bytes, other: bytes) -> int:
    """How many leading bytes the two share (a binary search of memory compares, copying nothing)."""
    low, high = 0, min(len(one), len(other))
    other_view = memoryview(other)
    while low < high:
        middle = (low + high + 1) // 2
        if one.startswith(other_view[low:middle], low):
            low = middle
        else:
            high = middle - 1
    return low


def common_suffix(one: bytes, other: bytes, limit: int) -> int:
    """How many trailing bytes the two share, at most ``limit``."""
    low, high = 0, limit
    end_one, end_other = len(one), len(other)
    other_view = memoryview(other)
    while low < high:
        middle = (low + high + 1) // 2
        if one.endswith(other_view[end_other - middle : end_other - low], 0, end_one - low):
            low = middle
        else:
            high = middle - 1
    return low


def _tables(region: bytes) -> list[bytes]:
    """The tables of a region that starts at a table header and ends before one."""
    pieces = region.split(b"\n[")
    return [pieces[0], *(b"[" + piece for piece in pieces[1:])]


def _key(table: bytes) -> tuple[str, str] | None:
    """(root, key) of a table from its header line."""
    return lockscan.header(table.split(b"\n", 1)[0].decode("utf-8", "replace"))


def _spellings(root: str, key: str) -> list[bytes]:
    """Every header line ``lockscan`` reads as this table."""
    if root == "retired":
        return [b"[retired]"]
    forms = [f'[{root}."{key}"]']
    if _BARE_KEY.match(key):
        forms.append(f"[{root}.{key}]")
    return [form.encode() for form in forms]


def _occurrences(raw: bytes, header: bytes) -> int:
    return raw.count(b"\n" + header + b"\n") + raw.endswith(b"\n" + header)


def changed(old: bytes, new: bytes, label: str) -> dict[str, LockEntry] | None:
    """The entries of the tables ``new`` has and ``old`` has not, byte for byte: every entry that may differ.

    ``old`` must be derivable.  None: ``new`` must be read whole (``read``), which says whether it is readable.
    """
    prefix = common_prefix(old, new)
    suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
    start = new.rfind(b"\n[", 0, prefix) + 1  # a header before the difference: the preamble is the same
    if start == 0:
        return None
    after = new.find(b"\n[", len(new) - suffix)  # a header after it, both bytes in the same trailing bytes
    end = after + 1 if after >= 0 else len(new)
    old_tables = {_key(table): table for table in _tables(old[start : end - len(new) + len(old)])}
    entries: dict[str, LockEntry] = {}
    seen: set[tuple[str, str]] = set()
    for table in _tables(new[start:end]):
        document = lockscan.scan(table)
        key = _key(table)
        if document is None or key is None or key in seen:
            return None
        seen.add(key)
        root, name = key
        if key not in old_tables and sum(_occurrences(new, header) for header in _spellings(root, name)) != 1:
            return None  # a table the old version had elsewhere, or not at all: it may now be there twice
        if old_tables.get(key) == table:
            continue  # beside the difference, not in it
        if root == "prompts":
            try:
                entries[name] = lockfile.entry_from_table(name, document["prompts"][name], label)
            except FatalError:
                return None
        elif root == "retired" and not all(isinstance(value, str) for value in document["retired"].values()):
            return None
    return entries
