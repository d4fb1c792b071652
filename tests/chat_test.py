"""Role sections as chat messages: Prompty's reading, and an exact way back to the body."""

from __future__ import annotations

from pathlib import Path

import jinja2
import prompty
import pytest

from prompthooks import chat, promptfile
from tests.helpers.repos import PROJECT_ROOT


@pytest.mark.parametrize(
    "body",
    [
        "system:\nA\n\nuser:\nB {{ x }}\n",
        "\n\nSYSTEM:\n\n\nA\n  \n# user :\nB\n\n\n",
        "system:\nuser:\nonly the user speaks",
        "developer:\nrules\nassistant:\n",
    ],
)
def test_split_and_join_give_the_body_back(body: str) -> None:
    found = chat.split(body)
    assert found is not None
    assert chat.join(found) == body
    assert chat.rebuild(found.messages, found.layout) == body


@pytest.mark.parametrize("body", ["Plain text {{ x }}\n", "Preamble\nsystem:\nA\n", "user: inline text is no marker\n", "user[name=\"a\"]:\nB\n"])
def test_bodies_without_leading_role_sections_are_not_chats(body: str) -> None:
    assert chat.split(body) is None


def test_messages_are_what_prompty_itself_renders(tmp_path: Path) -> None:
    """The published corpus file: our messages, rendered as MLflow renders them, equal Prompty's own."""
    source = PROJECT_ROOT / "prompts" / "intent_resolution.prompty"
    body = promptfile.load(source.read_bytes(), str(source)).content.body
    found = chat.split(body)
    assert found is not None
    inputs = {"query": "How do I reset it?", "response": "Open Settings."}
    ours = [(m["role"], jinja2.Environment().from_string(m["content"]).render(**inputs)) for m in found.messages]
    theirs = [(m.role, m.parts[0].value) for m in prompty.prepare(prompty.load(source), inputs)]
    assert ours == theirs


def test_rebuild_refuses_messages_that_do_not_fit_their_layout() -> None:
    found = chat.split("system:\nA\nuser:\nB\n")
    assert found is not None
    assert chat.rebuild([{**found.messages[0], "role": "user"}, found.messages[1]], found.layout) is None
    assert chat.rebuild(found.messages[:1], found.layout) is None
    assert chat.rebuild("not a list", found.layout) is None
    assert chat.rebuild([{"role": "system", "content": "A\nuser:\nC"}, found.messages[1]], found.layout) is None  # a smuggled marker
