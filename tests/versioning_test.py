from __future__ import annotations

import pytest

from prompthooks.versioning import Increment, bump, increment_between, parse_increment, parse_version


@pytest.mark.parametrize(
    ("version", "increment", "expected"),
    [
        ("1.2.3", Increment.PATCH, "1.2.4"),
        ("1.2.3", Increment.MINOR, "1.3.0"),
        ("1.2.3", Increment.MAJOR, "2.0.0"),
        ("1.2.3", Increment.NONE, "1.2.3"),
        ("0.9.9", Increment.MINOR, "0.10.0"),
        ("1.2.3-rc.1", Increment.PATCH, "1.2.3"),
        ("2.0.0-beta", Increment.MAJOR, "2.0.0"),
    ],
)
def test_bump(version: str, increment: Increment, expected: str) -> None:
    assert str(bump(parse_version(version), increment)) == expected


@pytest.mark.parametrize("value", ["1.0", "1", "v1.0.0", "1.0.0.0", "01.0.0", "", 1.0, 1, None])
def test_invalid_versions(value: object) -> None:
    with pytest.raises(ValueError, match="invalid semantic version"):
        parse_version(value)


@pytest.mark.parametrize(("lower", "higher"), [("1.0.0", "1.0.1"), ("1.9.0", "1.10.0"), ("1.0.0-rc.1", "1.0.0")])
def test_ordering(lower: str, higher: str) -> None:
    assert parse_version(lower) < parse_version(higher)


@pytest.mark.parametrize(("value", "expected"), [("major", Increment.MAJOR), ("minor", Increment.MINOR), ("patch", Increment.PATCH)])
def test_parse_increment(value: str, expected: Increment) -> None:
    assert parse_increment(value) is expected


@pytest.mark.parametrize("value", ["Minor", "huge", "", None, 1])
def test_unknown_increment(value: object) -> None:
    with pytest.raises(ValueError, match="unknown bump"):
        parse_increment(value)


def test_larger_bump_is_max() -> None:
    assert max(Increment.PATCH, Increment.MAJOR, Increment.MINOR) is Increment.MAJOR


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [("1.0.0", "2.0.0", Increment.MAJOR), ("1.0.0", "1.5.0", Increment.MINOR), ("1.0.0", "1.0.7", Increment.PATCH), ("1.0.0", "1.0.0", Increment.NONE)],
)
def test_increment_between(old: str, new: str, expected: Increment) -> None:
    assert increment_between(parse_version(old), parse_version(new)) is expected
