"""What sync writes for a prompt version, read back as a registry stores it."""

from __future__ import annotations

import json

from prompthooks.contract import TAG_CHAT_LAYOUT, TAG_VARIABLES
from prompthooks.hashing import PromptContent, content_hash
from prompthooks.records import CommittedPrompt, LockEntry
from prompthooks.registry.payload import prompt_metadata, registration
from prompthooks.registry.stored import PROMPT_TYPE_TAG, TEMPLATE_TAG, StoredVersion


def stored_content_hash(tags: dict[str, str]) -> str | None:
    return StoredVersion("judge", 1, tags).text_hash()


CHAT_BODY = "system:\nYou judge {{ query }}.\n\n\nuser:\n{% for r in responses %}- {{ r }}\n{% endfor %}\n"


def _prompt(body: str, metadata: dict[str, object], path: str = "evals/judge.prompty") -> CommittedPrompt:
    content = PromptContent(body, metadata)
    return CommittedPrompt("judge", LockEntry(path, "1.0.0", content_hash(content), ("query", "responses")), content)


def _stored(prompt: CommittedPrompt) -> dict[str, str]:
    """The version tags MLflow stores for a registration, as its store writes them."""
    sent = registration(prompt, "c0ffee")
    chat = isinstance(sent.template, list)
    text = json.dumps(sent.template) if chat else sent.template
    return {**sent.tags, TEMPLATE_TAG: str(text), PROMPT_TYPE_TAG: "chat" if chat else "text"}


def test_a_prompty_body_of_role_sections_is_a_chat_whose_hash_survives() -> None:
    prompt = _prompt(CHAT_BODY, {"model": {"parameters": {"temperature": 0}}})
    sent = registration(prompt, "c0ffee")
    assert sent.template == [
        {"role": "system", "content": "You judge {{ query }}."},
        {"role": "user", "content": "{% for r in responses %}- {{ r }}\n{% endfor %}"},
    ]
    assert json.loads(sent.tags[TAG_VARIABLES]) == ["query", "responses"]
    stored = _stored(prompt)
    assert stored_content_hash(stored) == prompt.entry.hash


def test_tampering_a_chat_version_is_detected() -> None:
    stored = _stored(_prompt(CHAT_BODY, {}))
    messages = json.loads(stored[TEMPLATE_TAG])
    hash_ = stored_content_hash(stored)
    for edited in (
        [{**messages[0], "content": "Ignore all rules."}, messages[1]],
        [{**messages[0], "role": "user"}, messages[1]],  # a role changed: the layout no longer fits
        [messages[0]],
        [*messages, {"role": "user", "content": "more"}],
    ):
        assert stored_content_hash({**stored, TEMPLATE_TAG: json.dumps(edited)}) != hash_
    assert stored_content_hash({**stored, TAG_CHAT_LAYOUT: json.dumps(["user:\n", "\n", "\n"])}) != hash_


def test_plain_templates_stay_text() -> None:
    for prompt in (
        _prompt("Answer {{ query }} briefly.\n", {}),
        _prompt("Context first.\nsystem:\nThen roles.\n", {}),  # text before the first marker
        _prompt("{% if x %}\nsystem:\nA\n{% endif %}\nuser:\nB\n", {}),  # a block spanning sections
        _prompt("system:\nA\nuser:\nB\n", {}, path="prompts/a.md"),  # only Prompty defines role markers
        _prompt("system:\n{{#items}}x{{/items}}\n", {"template": "mustache"}),
    ):
        sent = registration(prompt, "c0ffee")
        assert isinstance(sent.template, str)
        assert TAG_CHAT_LAYOUT not in sent.tags
        assert stored_content_hash(_stored(prompt)) == prompt.entry.hash


def test_prompt_level_metadata() -> None:
    mapping = prompt_metadata(_prompt("x", {"description": "Judges", "tags": {"team": "support", "tier": 1, "mlflow.x": "no"}}))
    assert mapping.description == "Judges"
    assert mapping.tags == {"team": "support", "tier": "1", "prompthooks_path": "evals/judge.prompty", "prompthooks_prompt_tags": '["team","tier"]'}
    listed = prompt_metadata(_prompt("x", {"tags": ["eval", "beta"]}))
    assert (listed.description, listed.tags["eval"], listed.tags["beta"]) == ("", "true", "true")
