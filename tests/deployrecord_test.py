from __future__ import annotations

import json

import pytest

from prompthooks.deployplan import Move
from prompthooks.deployrecord import CHUNK, Deployment, Served, ci_url, done_tags, from_stored, to_tags
from prompthooks.errors import FatalError
from prompthooks.registry.stored import StoredRecord


def _deployment(count: int) -> Deployment:
    prompts = {f"prompt_{i:05d}": Served("1.2.3", i + 1) for i in range(count)}
    return Deployment(
        id="", status="PENDING", environment="production", commit="a" * 40, ref="main", deployed_at="2026-11-27T17:00:00Z",
        reason="deploy", ci_url=None, previous="m-1", prompts=prompts,
        moved=(Move("prompt_00000", "production", None, 1), Move("prompt_00001", "production", 1, None), Move("prompt_00001", "production--b", 3, None)),
    )


def test_a_record_round_trips_and_1000_prompts_fit_mlflow_tag_limits() -> None:
    deployment = _deployment(1000)
    tags = to_tags(deployment)
    assert all(len(value) <= CHUNK for key, value in tags.items() if key != "mlflow.linkedPrompts")
    assert len([key for key in tags if key.startswith("prompthooks_prompts_")]) > 1
    assert json.loads(tags["mlflow.linkedPrompts"])[:2] == [{"name": "prompt_00000", "version": "1"}, {"name": "prompt_00001", "version": "2"}]
    assert tags["mlflow.source.git.commit"] == "a" * 40
    assert from_stored(StoredRecord("m-2", "READY", 0, tags)) == deployment._replace(id="m-2", status="READY")


def test_a_record_keeps_every_alias_move_and_a_failed_one_the_moves_made() -> None:
    deployment = _deployment(2)._replace(variant_commit="b" * 40)
    tags = to_tags(deployment)
    assert json.loads(tags["prompthooks_moved_1"]) == [["prompt_00000", "production", None, 1], ["prompt_00001", "production", 1, None], ["prompt_00001", "production--b", 3, None]]
    assert from_stored(StoredRecord("m-2", "READY", 0, tags)).moved == deployment.moved
    failed = {**tags, **done_tags([Move("prompt_00000", "production", None, 1)])}
    assert from_stored(StoredRecord("m-2", "FAILED", 0, failed)).moved == (Move("prompt_00000", "production", None, 1),)
    assert from_stored(StoredRecord("m-2", "READY", 0, tags)).variant_commit == "b" * 40


def test_a_record_written_before_moves_named_their_alias_still_reads() -> None:
    tags = {**to_tags(_deployment(2)), "prompthooks_moved_1": '{"prompt_00000":[null,1]}'}
    assert from_stored(StoredRecord("m-2", "READY", 0, tags)).moved == (Move("prompt_00000", "production", None, 1),)


def test_an_edited_record_is_an_error_naming_it() -> None:
    tags = to_tags(_deployment(2))
    tags["prompthooks_prompts_1"] = "{broken"
    with pytest.raises(FatalError, match="deployment record m-3 is not readable"):
        from_stored(StoredRecord("m-3", "READY", 0, tags))


def test_ci_url() -> None:
    github = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "7"}
    assert ci_url(github) == "https://github.com/acme/app/actions/runs/7"
    assert ci_url({**github, "GITHUB_RUN_ATTEMPT": "2"}) == "https://github.com/acme/app/actions/runs/7/attempts/2"
    assert ci_url({}) is None
