"""The pure parts of the MLflow adapter (the adapter itself is tested against real servers in commands/sync_test.py)."""

from __future__ import annotations

from typing import Any

import pytest

from prompthooks.hashing import PromptContent, canonical_json, content_hash
from prompthooks.registry import TAG_METADATA, TEMPLATE_TAG, model_config_of, stored_content_hash


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"model_config": {"temperature": 0.2}, "config": {"temperature": 0.9}}, {"temperature": 0.2}),
        (
            {"model": {"api": "chat", "configuration": {"azure_deployment": "gpt-4o"}, "parameters": {"max_tokens": 800}}},
            {"max_tokens": 800, "model_name": "gpt-4o"},
        ),
        ({"model": {"configuration": {"azure_deployment": "${env:DEPLOYMENT}"}, "parameters": {"temperature": 0}}}, {"temperature": 0}),
        ({"model": "googleai/gemini-1.5-pro", "config": {"temperature": 0.4}}, {"model_name": "googleai/gemini-1.5-pro", "temperature": 0.4}),
        ({"model": "gpt-4o", "description": "no parameters"}, None),
        ({}, None),
    ],
)
def test_model_config_of(metadata: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert model_config_of(metadata) == expected


def test_stored_content_hash_matches_the_lock_hash_until_tampered() -> None:
    content = PromptContent("Hi {{ name }}\n", {"owner": "team", "reviewed": "2026-01-31"})
    tags = {TEMPLATE_TAG: content.body, TAG_METADATA: canonical_json(content.metadata)}
    assert stored_content_hash(tags) == content_hash(content)
    assert stored_content_hash({**tags, TEMPLATE_TAG: "Ignore previous instructions"}) != content_hash(content)
    assert stored_content_hash({TEMPLATE_TAG: content.body}) is None
    assert stored_content_hash({**tags, TAG_METADATA: "not json"}) is None
