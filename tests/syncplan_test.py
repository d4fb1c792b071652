"""The sync planning rules against a fake registry (pure; acceptance tests use a real server)."""

from __future__ import annotations

import pytest

from prompthooks.contract import TAG_HASH, TAG_METADATA, TAG_VERSION
from prompthooks.hashing import PromptContent, content_hash
from prompthooks.records import CommittedPrompt, LockEntry
from prompthooks.registry.stored import TEMPLATE_TAG, StoredVersion
from prompthooks.syncplan import CONFLICT, REGISTER, SKIP, decide, lost_races, plan

HASH = content_hash(PromptContent("Hi", {}))
PROMPT = CommittedPrompt("greet", LockEntry("p/greet.md", "1.2.0", HASH), PromptContent("Hi", {}))


def _version(number: int, semver: str | None, hash_: str | None, stored: str | None = "Hi") -> StoredVersion:
    """A stored version whose text is ``stored`` (None: its metadata unreadable)."""
    tags = {TAG_VERSION: semver, TAG_HASH: hash_, TEMPLATE_TAG: stored or "", TAG_METADATA: "{}" if stored is not None else "not json"}
    return StoredVersion("greet", number, {key: value for key, value in tags.items() if value is not None})


@pytest.mark.parametrize(
    ("existing", "action", "number"),
    [
        ([], REGISTER, None),
        ([_version(1, "1.1.0", "sha256:old")], REGISTER, None),
        ([_version(1, "1.1.0", "sha256:old"), _version(2, "1.2.0", HASH)], SKIP, 2),
        ([_version(2, "1.2.0", "sha256:bbb")], CONFLICT, 2),
        ([_version(2, "1.2.0", HASH, stored="tampered")], CONFLICT, 2),
        ([_version(2, "1.2.0", HASH, stored=None)], CONFLICT, 2),
        ([_version(5, "1.2.0", HASH), _version(3, "1.2.0", HASH)], SKIP, 3),
        ([_version(1, None, None)], REGISTER, None),
    ],
)
def test_decide(existing: list[StoredVersion], action: str, number: int | None) -> None:
    step = decide(PROMPT, existing)
    assert (step.action, step.number) == (action, number)


def test_conflict_names_both_hashes_and_the_mlflow_version() -> None:
    step = decide(PROMPT, [_version(7, "1.2.0", "sha256:bbbbbbbbbbbbbbbb")])
    assert step.detail == f"MLflow version 7 has 1.2.0 with sha256:bbbbbbbbbbbbbbbb, the lock has {HASH}"


def test_lost_races_keep_the_lowest_number() -> None:
    after = {"greet": [_version(3, "1.2.0", HASH), _version(4, "1.2.0", HASH)], "other": []}
    key = ("greet", "1.2.0")
    assert lost_races({key: 4}, after) == {key: after["greet"][0]}
    assert lost_races({key: 3}, after) == {}


def test_a_race_won_by_other_content_is_lost_too() -> None:
    """Two branches gave 1.2.0 other texts and synced at once: the lowest number wins, whatever its hash."""
    theirs = _version(3, "1.2.0", "sha256:theirs")
    assert lost_races({("greet", "1.2.0"): 4}, {"greet": [theirs, _version(4, "1.2.0", HASH)]}) == {("greet", "1.2.0"): theirs}


def _history(*semvers: str) -> list[CommittedPrompt]:
    return [CommittedPrompt("greet", LockEntry("p/greet.md", semver, _hash(semver)), PromptContent(semver, {})) for semver in semvers]


def _hash(semver: str) -> str:
    return content_hash(PromptContent(semver, {}))


@pytest.mark.parametrize(
    ("history", "held", "current", "actions"),
    [
        # an empty registry takes the whole history, oldest first: numbers follow semver, the current version ends on top
        (("1.0.0", "1.1.0", "1.2.0"), [], "1.2.0", [REGISTER, REGISTER, REGISTER]),
        # after a plain sync of 1.2.0, registering 1.0.0 or 1.1.0 would make them @latest: refused
        (("1.0.0", "1.1.0", "1.2.0"), [(1, "1.2.0")], "1.2.0", [CONFLICT, CONFLICT, SKIP]),
        # the registry holds an older version: newer history goes above it, and the current version still ends on top
        (("1.0.0", "1.1.0", "1.2.0"), [(1, "1.0.0")], "1.2.0", [SKIP, REGISTER, REGISTER]),
        # 1.1.0 is below what the registry holds (a sync of another ref): refused, though the current version comes after
        (("1.0.0", "1.1.0", "1.3.0"), [(1, "1.0.0"), (2, "1.2.0")], "1.3.0", [SKIP, CONFLICT, REGISTER]),
        # a prompt no longer locked: its history in semver order, above what is held
        (("1.0.0", "1.1.0"), [(1, "1.0.0")], None, [SKIP, REGISTER]),
        (("1.0.0", "1.1.0"), [(4, "2.0.0")], None, [CONFLICT, CONFLICT]),
    ],
)
def test_history_never_lands_above_what_git_has_now(
    history: tuple[str, ...], held: list[tuple[int, str]], current: str | None, actions: list[str]
) -> None:
    existing = {"greet": [StoredVersion("greet", number, {TAG_VERSION: semver, TAG_HASH: _hash(semver), TEMPLATE_TAG: semver, TAG_METADATA: "{}"})
                          for number, semver in held]}
    steps = plan(_history(*history), existing, {"greet": current} if current else {})
    assert [step.action for step in steps] == actions
    for step in steps:
        if step.action == CONFLICT:
            assert "prompts:/greet@latest would serve " + step.prompt.entry.version in step.detail
