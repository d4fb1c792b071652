"""Blobs out of a git pack and its index, git's deltas applied here (pure: bytes in, bytes out).

Many versions of one file (the lock, through its history) come out of ``git pack-objects``
as one full version and deltas of a few hundred bytes each: reading them here costs what
changed between versions, where ``git cat-file`` would send every version whole.
Formats: pack version 2 or 3, index version 2 (git's ``Documentation/gitformat-pack.txt``).
"""

from __future__ import annotations

import struct
import zlib
from collections import OrderedDict
from typing import Final, NamedTuple

_BLOB: Final = 3
_OFS_DELTA: Final = 6
_REF_DELTA: Final = 7
_INDEX_MAGIC: Final = b"\377tOc"
_KEPT_BEYOND_DEPTH: Final = 8  # versions kept at least beyond the longest delta chain: reading in history order rebuilds each chain once
_KEPT_BYTES: Final = 64 << 20  # and more while they fit in this: a version's delta base is not always the one read just before


class PackError(ValueError):
    """Bytes that are not a pack git wrote, or a delta that does not apply."""


class _Entry(NamedTuple):
    data_start: int  # the zlib stream: the object, or its delta
    data_end: int
    base: int | None  # a delta's base entry (its offset)
    depth: int  # deltas between it and a whole object


def _index(index: bytes, id_length: int) -> dict[str, int]:
    """Object id -> offset in the pack."""
    if index[:4] != _INDEX_MAGIC or struct.unpack(">I", index[4:8])[0] != 2:
        raise PackError("not a version 2 pack index")
    count = struct.unpack(">I", index[8 + 255 * 4 : 8 + 256 * 4])[0]
    names = 8 + 256 * 4
    offsets_at = names + count * (id_length + 4)
    large_at = offsets_at + count * 4
    offsets = struct.unpack(f">{count}I", index[offsets_at:large_at])
    found = {}
    for number, offset in enumerate(offsets):
        if offset & 0x80000000:
            position = large_at + (offset & 0x7FFFFFFF) * 8
            offset = struct.unpack(">Q", index[position : position + 8])[0]
        found[index[names + number * id_length : names + (number + 1) * id_length].hex()] = offset
    return found


def _entries(pack: bytes, offsets: dict[str, int], id_length: int) -> dict[int, _Entry]:
    if pack[:4] != b"PACK" or struct.unpack(">I", pack[4:8])[0] not in (2, 3):
        raise PackError("not a version 2 or 3 pack")
    ordered = sorted(offsets.values())
    ends = dict(zip(ordered, [*ordered[1:], len(pack) - id_length], strict=True))
    found: dict[int, _Entry] = {}
    for offset in ordered:  # a base precedes its deltas, so its depth is known first
        position = offset
        byte = pack[position]
        kind = (byte >> 4) & 7
        position += 1
        while byte & 0x80:
            byte = pack[position]
            position += 1
        base = None
        if kind == _OFS_DELTA:
            byte = pack[position]
            position += 1
            distance = byte & 0x7F
            while byte & 0x80:
                byte = pack[position]
                position += 1
                distance = ((distance + 1) << 7) | (byte & 0x7F)
            base = offset - distance
        elif kind == _REF_DELTA:
            base = offsets[pack[position : position + id_length].hex()]
            position += id_length
        elif kind != _BLOB:
            raise PackError(f"object at {offset} is not a blob")
        depth = 0 if base is None else found[base].depth + 1 if base in found else 0
        found[offset] = _Entry(position, ends[offset], base, depth)
    return found


def _size(delta: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = delta[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def _copy_fields(command: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The shifts of the offset bytes and of the size bytes that follow a copy command."""
    return tuple(8 * bit for bit in range(4) if command & (1 << bit)), tuple(8 * bit for bit in range(3) if command & (0x10 << bit))


_COPY_FIELDS: Final = [_copy_fields(command) for command in range(256)]


def apply_delta(base: bytes, delta: bytes) -> bytes:
    """git's delta format: copy ranges of ``base`` and insert literal bytes."""
    source_size, position = _size(delta, 0)
    target_size, position = _size(delta, position)
    if source_size != len(base):
        raise PackError("delta for another base")
    source = memoryview(base)  # copied once, by the join
    parts: list[bytes | memoryview] = []
    end = len(delta)
    while position < end:
        command = delta[position]
        position += 1
        if command & 0x80:
            offset_shifts, size_shifts = _COPY_FIELDS[command]
            offset = size = 0
            for shift in offset_shifts:
                offset |= delta[position] << shift
                position += 1
            for shift in size_shifts:
                size |= delta[position] << shift
                position += 1
            parts.append(source[offset : offset + (size or 0x10000)])
        elif command:
            parts.append(delta[position : position + command])
            position += command
        else:
            raise PackError("reserved delta command 0")
    target = b"".join(parts)
    if len(target) != target_size:
        raise PackError("delta gave the wrong size")
    return target


class Pack:
    """The blobs of one pack, each rebuilt from its chain of deltas; recent ones kept for the deltas that follow."""

    def __init__(self, pack: bytes, index: bytes, id_length: int) -> None:
        self._pack = memoryview(pack)
        self._offsets = _index(index, id_length)
        self._entries = _entries(pack, self._offsets, id_length)
        self._kept: OrderedDict[int, bytes] = OrderedDict()
        self._kept_bytes = 0
        self._keep = max((entry.depth for entry in self._entries.values()), default=0) + _KEPT_BEYOND_DEPTH

    def __contains__(self, object_id: str) -> bool:
        return object_id in self._offsets

    def get(self, object_id: str) -> bytes:
        offset = self._offsets[object_id]
        chain = []
        while offset not in self._kept and (base := self._entries[offset].base) is not None:
            chain.append(offset)
            offset = base
        data = self._kept[offset] if offset in self._kept else self._inflate(offset)
        self._keep_recent(offset, data)
        for delta_offset in reversed(chain):
            data = apply_delta(data, self._inflate(delta_offset))
            self._keep_recent(delta_offset, data)
        return data

    def _inflate(self, offset: int) -> bytes:
        entry = self._entries[offset]
        try:
            return zlib.decompress(self._pack[entry.data_start : entry.data_end])
        except zlib.error as error:
            raise PackError(f"object at {offset}: {error}") from None

    def _keep_recent(self, offset: int, data: bytes) -> None:
        if offset not in self._kept:
            self._kept_bytes += len(data)
        self._kept[offset] = data
        self._kept.move_to_end(offset)
        while len(self._kept) > self._keep and self._kept_bytes > _KEPT_BYTES:
            self._kept_bytes -= len(self._kept.popitem(last=False)[1])
