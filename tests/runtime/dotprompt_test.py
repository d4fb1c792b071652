"""Dotprompt rendering at run time against Dotprompt's reference implementation (dotpromptz)."""

from __future__ import annotations

import asyncio

import pytest

from prompthooks import flatten
from prompthooks.config import DEFAULT
from prompthooks.runtime import dotprompt

dotpromptz = pytest.importorskip("dotpromptz")

VALUES = {"text": "the report", "style": "terse"}
PARTIAL = "Keep a {{#if style}}{{style}}{{else}}neutral{{/if}} tone.\n"


def _reference(source: str, partials: dict[str, str]) -> str:
    """What Dotprompt renders from a file with front matter (it strips the body first)."""
    from dotpromptz._typing import DataArgument

    rendered = asyncio.run(dotpromptz.Dotprompt(partials=partials).render(source, DataArgument(input=VALUES)))
    return "".join(part.text for message in rendered.messages for part in message.content if hasattr(part, "text"))


def _registry_copy(body: str) -> str:
    return flatten.flatten("prompts/s.prompt", body, {"prompts/_tone.prompt": PARTIAL, "prompts/s.prompt": body}, DEFAULT, jinja=False)


def test_a_flattened_copy_renders_as_the_original_with_its_partials() -> None:
    body = "Summarize {{text}}.\n{{> tone}}\nThanks.\n"
    expected = _reference(f"---\nmodel: x\n---\n{body}", {"tone": PARTIAL})
    assert dotprompt.render(_registry_copy(body), dotprompt.Setup(), VALUES) == expected


@pytest.mark.xfail(strict=True, reason="known: Dotprompt strips a body before inlining partials; a flattened copy ending with a partial loses its final newline")
def test_a_flattened_copy_ending_with_a_partial_keeps_the_partials_final_newline() -> None:
    body = "Summarize {{text}}.\n{{> tone}}\n"
    expected = _reference(f"---\nmodel: x\n---\n{body}", {"tone": PARTIAL})  # "...terse tone.\n"
    assert dotprompt.render(_registry_copy(body), dotprompt.Setup(), VALUES) == expected  # gives "...terse tone."
