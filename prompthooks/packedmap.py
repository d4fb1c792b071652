"""A large read-only mapping kept as four flat objects: loaded without building an object per entry.

Unmarshaling a dictionary of 10,000 names builds 20,000 objects, and most readers ask for a
few of them (a commit that changes one prompt asks for one name's history).  ``Packed`` holds
the keys sorted in one string and the values (strings or bytes) joined in one object, with
where each ends, and finds a key by bisection.  A reader that goes through every entry gets
a dictionary, built once.
"""

from __future__ import annotations

import array
import bisect
import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Generic, TypeVar

Value = TypeVar("Value", str, bytes)
Flat = tuple[str, bytes, Value, bytes]  # the sorted keys joined, where each ends, the values joined, where each ends


def pack(mapping: Mapping[str, Value], empty: Value) -> Flat[Value]:
    """``mapping`` flat, for ``Packed`` (and ``marshal``); ``empty``: "" or b"", the type of its values."""
    keys = sorted(mapping)
    values = [mapping[key] for key in keys]
    return "".join(keys), _ends(len(key) for key in keys), empty.join(values), _ends(len(value) for value in values)


def _ends(lengths: Iterable[int]) -> bytes:
    return array.array("Q", itertools.accumulate(lengths)).tobytes()


class _Joined(Generic[Value]):
    """Strings (or bytes) joined, each found by where it ends: a sequence, for ``bisect``."""

    def __init__(self, joined: Value, ends: bytes) -> None:
        self.joined: Value = joined
        self.ends: memoryview = memoryview(ends).cast("Q")
        if self.ends and self.ends[-1] != len(joined):
            raise ValueError("a packed mapping whose parts do not match")

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: int) -> Value:
        start: int = self.ends[index - 1] if index else 0
        end: int = self.ends[index]
        return self.joined[start:end]

    def __iter__(self) -> Iterator[Value]:
        stops: list[int] = self.ends.tolist()
        return map(self.joined.__getitem__, map(slice, [0, *stops], stops))


class Packed(Mapping[str, Value]):
    def __init__(self, flat: Flat[Value]) -> None:
        self._keys: _Joined[str] = _Joined(flat[0], flat[1])
        self._values: _Joined[Value] = _Joined(flat[2], flat[3])
        if len(self._keys) != len(self._values):
            raise ValueError("a packed mapping whose parts do not match")
        self._all: dict[str, Value] | None = None

    def __getitem__(self, key: str) -> Value:
        if self._all is not None:
            return self._all[key]
        index = bisect.bisect_left(self._keys, key)
        if index == len(self._keys) or self._keys[index] != key:
            raise KeyError(key)
        return self._values[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.whole())

    def __len__(self) -> int:
        return len(self._keys)

    def whole(self) -> dict[str, Value]:
        """Every entry, as a dictionary (built once; lookups use it from then on)."""
        if self._all is None:
            self._all = dict(zip(self._keys, self._values, strict=True))
        return self._all
