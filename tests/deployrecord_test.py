from __future__ import annotations

import json

import pytest

from prompthooks.deployrecord import CHUNK, Deployment, Served, ci_url, from_stored, to_tags
from prompthooks.errors import FatalError
from prompthooks.registry.stored import StoredRecord


def _deployment(count: int) -> Deployment:
    prompts = {f"prompt_{i:05d}": Served("1.2.3", i + 1) for i in range(count)}
    return Deployment(
        id="", status="PENDING", environment="production", commit="a" * 40, ref="main", deployed_at="2026-11-27T17:00:00Z",
        reason="deploy", ci_url=None, previous="m-1", prompts=prompts, moved={"prompt_00000": (None, 1), "prompt_00001": (1, None)},
    )


def test_a_record_round_trips_and_1000_prompts_fit_mlflow_tag_limits() -> None:
    deployment = _deployment(1000)
    tags = to_tags(deployment)
    assert all(len(value) <= CHUNK for key, value in tags.items() if key != "mlflow.linkedPrompts")
    assert len([key for key in tags if key.startswith("prompthooks_prompts_")]) > 1
    assert json.loads(tags["mlflow.linkedPrompts"])[:2] == [{"name": "prompt_00000", "version": "1"}, {"name": "prompt_00001", "version": "2"}]
    assert tags["mlflow.source.git.commit"] == "a" * 40
    assert from_stored(StoredRecord("m-2", "READY", 0, tags)) == deployment._replace(id="m-2", status="READY")


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
