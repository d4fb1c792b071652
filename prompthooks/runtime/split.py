"""A/B arms: which alias of an environment's split serves a key.

Pure functions, so the choice is the same in every process and on every machine:
``sha256(name NUL key)`` gives a bucket in [0, 10000), matched against the
cumulative weights, the main arm (the environment's own alias) first and the
other arms sorted by name.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Final, NamedTuple

BUCKETS: Final = 10_000


class Split(NamedTuple):
    main: str  # the environment's alias: served when no key is given
    arms: tuple[tuple[str, float], ...]  # (alias, weight), main first, weights > 0

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every alias the split may serve: the main arm even when its weight is 0."""
        return (self.main, *(alias for alias, _ in self.arms if alias != self.main))


def parse(environment: str, raw: str) -> Split:
    """The split in a ``prompthooks_split_<env>`` tag; ``ValueError`` naming what is wrong."""
    try:
        document = json.loads(raw)
    except ValueError:
        raise ValueError(f"split of {environment} is not JSON: {raw[:80]!r}") from None
    if not isinstance(document, dict) or not document:
        raise ValueError(f"split of {environment} must be a JSON object of alias -> weight, not {raw[:80]!r}")
    weights: dict[str, float] = {}
    for alias, weight in document.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"split of {environment}: weight of {alias!r} must be a number >= 0, not {weight!r}")
        if weight > 0:
            weights[str(alias)] = float(weight)
    if not weights:
        raise ValueError(f"split of {environment} gives every arm weight 0")
    if environment not in document:
        raise ValueError(f"split of {environment} has no arm {environment!r} (the environment's own alias)")
    ordered = sorted(weights.items(), key=lambda item: (item[0] != environment, item[0]))
    return Split(environment, tuple(ordered))


def bucket(name: str, key: str) -> int:
    """A stable bucket in [0, BUCKETS) for this prompt and key."""
    digest = hashlib.sha256(f"{name}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def choose(split: Split, name: str, key: str | None) -> str:
    """The alias that serves ``key`` (the main arm without a key)."""
    if key is None:
        return split.main
    total = sum(weight for _, weight in split.arms)
    point = bucket(name, key) * total / BUCKETS
    cumulative = 0.0
    for alias, weight in split.arms:
        cumulative += weight
        if point < cumulative:
            return alias
    return split.arms[-1][0]
