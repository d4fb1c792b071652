"""A/B arms: a pure, stable function of (prompt name, key)."""

from __future__ import annotations

import collections

import pytest

from prompthooks.runtime import split


def test_arms_match_the_weights_within_one_percent_over_100000_keys() -> None:
    chosen = split.parse("production", '{"production": 80, "production-b": 20}')
    counts = collections.Counter(split.choose(chosen, "assistant", f"user-{i}") for i in range(100_000))
    assert abs(counts["production"] / 100_000 - 0.80) < 0.01
    assert abs(counts["production-b"] / 100_000 - 0.20) < 0.01


def test_three_arms_and_fractional_weights() -> None:
    chosen = split.parse("prod", '{"prod-b": 33.3, "prod": 33.4, "prod-c": 33.3}')
    counts = collections.Counter(split.choose(chosen, "p", str(i)) for i in range(100_000))
    for arm in ("prod", "prod-b", "prod-c"):
        assert abs(counts[arm] / 100_000 - 1 / 3) < 0.01


def test_sticky_per_key_and_independent_of_json_order() -> None:
    one = split.parse("production", '{"production": 50, "production-b": 50}')
    other = split.parse("production", '{"production-b": 50, "production": 50}')
    for i in range(1000):
        assert split.choose(one, "assistant", f"k{i}") == split.choose(other, "assistant", f"k{i}") == split.choose(one, "assistant", f"k{i}")


def test_known_buckets_are_the_same_on_every_machine() -> None:
    # sha256, not Python's per-process salted hash(): fixed values.
    assert split.bucket("assistant", "user-1") == int.from_bytes(__import__("hashlib").sha256(b"assistant\0user-1").digest()[:8], "big") % 10_000
    assert split.bucket("assistant", "user-1") != split.bucket("other", "user-1") or split.bucket("assistant", "user-2") != split.bucket("other", "user-2")


def test_no_key_is_the_main_arm_even_at_weight_zero() -> None:
    chosen = split.parse("production", '{"production": 0, "production-b": 100}')
    assert split.choose(chosen, "p", None) == "production"
    assert chosen.aliases == ("production", "production-b")
    assert {split.choose(chosen, "p", str(i)) for i in range(100)} == {"production-b"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"production": -1, "production-b": 1}', ">= 0"),
        ('{"production": "80"}', ">= 0"),
        ('{"production": 0}', "weight 0"),
        ('{"production-b": 100}', "no arm 'production'"),
    ],
)
def test_invalid_splits_name_the_problem(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split.parse("production", raw)
