"""``Prompt.format``: strict about missing variables, tolerant of extra ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompthooks.runtime import PromptFormatError
from prompthooks.runtime.prompt import JINJA, PLACEHOLDER, Prompt


def _prompt(template: str | tuple[dict[str, str], ...], engine: str = JINJA, search_path: tuple[str, ...] = ()) -> Prompt:
    return Prompt("assistant", "1.0.0", "sha256:x", None, template, ("question",), None, None, "lock", engine=engine, search_path=search_path)


def test_format_renders_and_allows_extra_variables() -> None:
    assert _prompt("Answer {{ question }}.").format(question="why", extra=1) == "Answer why."


def test_missing_variable_raises_naming_it() -> None:
    with pytest.raises(PromptFormatError, match="question"):
        _prompt("Answer {{ question }}.").format()
    with pytest.raises(PromptFormatError, match="question"):
        _prompt("Answer {{ question }}.", PLACEHOLDER).format(other=1)


def test_placeholder_engine_for_text_prompts() -> None:
    assert _prompt("Hi {{ name }}, {{name}}!", PLACEHOLDER).format(name="Ann") == "Hi Ann, Ann!"


def test_chat_prompt_returns_rendered_messages() -> None:
    chat = _prompt(({"role": "system", "content": "Be brief."}, {"role": "user", "content": "{{ question }}"}))
    assert chat.is_chat
    assert chat.format(question="Why?") == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}]
    with pytest.raises(PromptFormatError, match="question"):
        chat.format()


def test_includes_resolve_like_a_file_system_loader(tmp_path: Path) -> None:
    (tmp_path / "_rules.j2").write_text("Be concise.")
    prompt = _prompt('{% include "_rules.j2" %} {{ question }}', search_path=(str(tmp_path),))
    assert prompt.format(question="Why?") == "Be concise. Why?"


def test_prompt_is_immutable() -> None:
    prompt = _prompt("x")
    with pytest.raises(AttributeError):
        prompt.version = "2.0.0"  # type: ignore[misc]
