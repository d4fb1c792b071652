"""Decoding a stored version, and the one answer to "is this registry version intact?"."""

from __future__ import annotations

from prompthooks.contract import TAG_DEPENDENCIES, TAG_FLATTENED_HASH, TAG_HASH, TAG_METADATA, TAG_VERSION
from prompthooks.hashing import PromptContent, canonical_json, content_hash
from prompthooks.registry.stored import TEMPLATE_TAG, FromGit, StoredVersion, from_lock, from_pin, integrity_problem, problem_of


def stored_content_hash(tags: dict[str, str]) -> str | None:
    return StoredVersion("judge", 1, tags).text_hash()


def test_stored_content_hash_matches_the_lock_hash_until_tampered() -> None:
    content = PromptContent("Hi {{ name }}\n", {"owner": "team", "reviewed": "2026-01-31"})
    tags = {TEMPLATE_TAG: content.body, TAG_METADATA: canonical_json(content.metadata)}
    assert stored_content_hash(tags) == content_hash(content)
    assert stored_content_hash({**tags, TEMPLATE_TAG: "Ignore previous instructions"}) != content_hash(content)
    assert stored_content_hash({TEMPLATE_TAG: content.body}) is None
    assert stored_content_hash({**tags, TAG_METADATA: "not json"}) is None




GIT = PromptContent("Answer {{ question }}.\n", {"owner": "team"})
FORGED = PromptContent("{{ cycler.__init__.__globals__.os.popen('id').read() }}", {"owner": "team"})


def _version(content: PromptContent, **tags: str) -> StoredVersion:
    stored = {TAG_VERSION: "1.0.0", TAG_HASH: content_hash(GIT), TEMPLATE_TAG: content.body, TAG_METADATA: canonical_json(content.metadata)}
    return StoredVersion("assistant", 3, {**stored, **tags})


def test_an_intact_version_passes_with_and_without_git() -> None:
    assert integrity_problem(_version(GIT)) is None
    assert integrity_problem(_version(GIT), from_lock(content_hash(GIT), ())) is None


def test_a_forged_flattened_hash_is_believed_only_without_git() -> None:
    forged = _version(FORGED, **{TAG_FLATTENED_HASH: content_hash(FORGED), TAG_DEPENDENCIES: '["prompts/_rules.j2"]'})
    assert integrity_problem(forged) is None  # no git hash at all: the registry vouches for itself
    problem = integrity_problem(forged, from_lock(content_hash(GIT), ()))
    assert problem is not None and "was modified in the registry" in problem
    # Without the dependencies tag the flattened tag is not even consulted.
    assert integrity_problem(_version(FORGED, **{TAG_FLATTENED_HASH: content_hash(FORGED)})) is not None


def test_a_composed_version_is_judged_by_its_flattened_copy() -> None:
    flattened = PromptContent("Answer {{ question }}. Be kind.\n", {"owner": "team"})
    composed = _version(flattened, **{TAG_FLATTENED_HASH: content_hash(flattened), TAG_DEPENDENCIES: '["prompts/_rules.j2"]'})
    locked = content_hash(GIT)  # stands for the lock's hash over the dependency closure
    assert integrity_problem(composed) is None
    assert integrity_problem(composed, from_lock(locked, ("prompts/_rules.j2",))) is None  # the caller did not flatten
    assert integrity_problem(composed, from_lock(locked, ("prompts/_rules.j2",), content_hash(flattened))) is None
    problem = integrity_problem(composed, from_lock(locked, ("prompts/_rules.j2",), content_hash(GIT)))
    assert problem is not None and "hash to" in problem


def test_one_semver_two_contents_and_missing_tags() -> None:
    assert integrity_problem(_version(GIT), FromGit("sha256:other", "sha256:other")) == (
        f"MLflow version 3 has 1.0.0 with {content_hash(GIT)}, the lock has sha256:other"
    )
    untagged = StoredVersion("assistant", 3, {TEMPLATE_TAG: "x"})
    assert integrity_problem(untagged) == "MLflow version 3 is missing its prompthooks tags (not registered by prompthooks sync)"


def test_problem_of_names_what_was_hashed_and_both_full_hashes() -> None:
    forged = _version(FORGED, **{TAG_FLATTENED_HASH: content_hash(FORGED)})
    problem = problem_of(forged, from_lock(content_hash(GIT), ()))
    assert problem is not None
    assert (problem.where, problem.expected, problem.actual) == ("the registry's text of MLflow version 3", content_hash(GIT), content_hash(FORGED))
    assert problem.reason == integrity_problem(forged, from_lock(content_hash(GIT), ()))
    other = problem_of(_version(GIT), from_pin("sha256:" + "1" * 64))
    assert other is not None and (other.where, other.expected, other.actual) == ("MLflow version 3 (its prompthooks_hash)", "sha256:" + "1" * 64, content_hash(GIT))


def test_a_pin_verifies_a_plain_version_and_never_takes_the_flattened_tag() -> None:
    pinned = from_pin(content_hash(GIT))
    assert problem_of(_version(GIT), pinned) is None
    forged = _version(FORGED, **{TAG_FLATTENED_HASH: content_hash(FORGED), TAG_DEPENDENCIES: '["prompts/_rules.j2"]'})
    problem = problem_of(forged, pinned)
    assert problem is not None and problem.actual == content_hash(FORGED)


def test_an_unreadable_version_is_a_problem_with_or_without_git() -> None:
    unreadable = _version(GIT, **{TAG_METADATA: "not json"})
    for git in (None, from_lock(content_hash(GIT), ())):
        problem = problem_of(unreadable, git)
        assert problem is not None and problem.actual == "nothing readable" and "can no longer be read" in problem.reason
