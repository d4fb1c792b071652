"""The sync planning rules against a fake registry (pure; acceptance tests use a real server)."""

from __future__ import annotations

import pytest

from prompthooks.hashing import PromptContent
from prompthooks.records import LockEntry
from prompthooks.snapshot import CommittedPrompt
from prompthooks.syncplan import CONFLICT, REGISTER, SKIP, RegistryVersion, decide, lost_races

PROMPT = CommittedPrompt("greet", LockEntry("p/greet.md", "1.2.0", "sha256:aaa"), PromptContent("Hi", {}))


def _version(number: int, semver: str, hash_: str, stored: str | None = "same") -> RegistryVersion:
    return RegistryVersion("greet", number, semver, hash_, hash_ if stored == "same" else stored)


@pytest.mark.parametrize(
    ("existing", "action", "number"),
    [
        ([], REGISTER, None),
        ([_version(1, "1.1.0", "sha256:old")], REGISTER, None),
        ([_version(1, "1.1.0", "sha256:old"), _version(2, "1.2.0", "sha256:aaa")], SKIP, 2),
        ([_version(2, "1.2.0", "sha256:bbb")], CONFLICT, 2),
        ([_version(2, "1.2.0", "sha256:aaa", stored="sha256:tampered")], CONFLICT, 2),
        ([_version(2, "1.2.0", "sha256:aaa", stored=None)], CONFLICT, 2),
        ([_version(5, "1.2.0", "sha256:aaa"), _version(3, "1.2.0", "sha256:aaa")], SKIP, 3),
        ([RegistryVersion("greet", 1, None, None, None)], REGISTER, None),
    ],
)
def test_decide(existing: list[RegistryVersion], action: str, number: int | None) -> None:
    step = decide(PROMPT, existing)
    assert (step.action, step.number) == (action, number)


def test_conflict_names_both_hashes_and_the_mlflow_version() -> None:
    step = decide(PROMPT, [_version(7, "1.2.0", "sha256:bbbbbbbbbbbbbbbb")])
    assert step.detail == "MLflow version 7 has 1.2.0 with sha256:bbbbbbbbbbbbbbbb, the lock has sha256:aaa"


def test_lost_races_keep_the_lowest_number() -> None:
    after = {"greet": [_version(3, "1.2.0", "sha256:aaa"), _version(4, "1.2.0", "sha256:aaa")], "other": []}
    key = ("greet", "1.2.0")
    assert lost_races({key: 4}, after, {key: "sha256:aaa"}) == {key: 3}
    assert lost_races({key: 3}, after, {key: "sha256:aaa"}) == {}
