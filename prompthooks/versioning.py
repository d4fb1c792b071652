"""Semantic versions and bump levels (the arithmetic; the policy lives in ``planning``)."""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import semver


class Increment(enum.IntEnum):
    """Ordered so that "the larger of two bumps" is ``max()``."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


BUMP_NAMES = ("major", "minor", "patch")


def parse_increment(value: object) -> Increment:
    """Parse a front-matter ``bump`` value; raises ``ValueError`` on anything else."""
    if not isinstance(value, str) or value not in BUMP_NAMES:
        raise ValueError(f"unknown bump {value!r} (expected one of: {', '.join(BUMP_NAMES)})")
    return Increment[value.upper()]


def parse_version(value: object) -> semver.Version:
    """Parse a semantic version such as ``1.2.3`` or ``2.0.0-rc.1``."""
    if not isinstance(value, str):
        # YAML turns ``version: 1.0`` into a float; say what it looked like.
        raise ValueError(f"invalid semantic version {value!r} (expected MAJOR.MINOR.PATCH, quoted if YAML reads a number)")
    import semver  # imported here: unchanged prompts never need it, and the hook's hot path skips it

    try:
        return semver.Version.parse(value)
    except ValueError:
        raise ValueError(f"invalid semantic version {value!r} (expected MAJOR.MINOR.PATCH)") from None


_PLAIN: Final = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")


def is_above(one: str, other: str) -> bool:
    """Whether version ``one`` is above ``other``: plain ``MAJOR.MINOR.PATCH`` compared as numbers, others by semver."""
    plain_one, plain_other = _PLAIN.match(one), _PLAIN.match(other)
    if plain_one is not None and plain_other is not None:
        return tuple(map(int, plain_one.groups())) > tuple(map(int, plain_other.groups()))
    return parse_version(one) > parse_version(other)


def bump(version: semver.Version, increment: Increment) -> semver.Version:
    """The next version at ``increment``; a pre-release is finalised first (``1.2.3-rc.1`` + patch = ``1.2.3``)."""
    if increment is Increment.NONE:
        return version
    return version.next_version(increment.label)


def increment_between(old: semver.Version, new: semver.Version) -> Increment:
    """The level at which ``new`` differs from ``old`` (for reporting a hand-raised version)."""
    if new.major != old.major:
        return Increment.MAJOR
    if new.minor != old.minor:
        return Increment.MINOR
    if new != old:
        return Increment.PATCH
    return Increment.NONE
