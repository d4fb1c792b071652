from __future__ import annotations

import pytest

from prompthooks.errors import FatalError
from prompthooks.variables import analyse, find, may_reference, required_increment
from prompthooks.versioning import Increment


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("a.jinja2", "Hi {{ name }}, {{ name|upper }}", ("name",)),
        ("a.jinja2", "{% for fact in facts %}{{ fact }} {{ loop.index }}{% endfor %}", ("facts",)),
        ("a.jinja2", "{% if vip %}Dear {{ customer.name }}{% else %}Hi{% endif %}", ("customer", "vip")),
        ("a.j2", "{% set greeting = 'Hi' %}{{ greeting }} {{ who }}", ("who",)),
        ("a.jinja", "{% for x in xs %}{% if x %}{% break %}{% endif %}{% endfor %}", ("xs",)),
        ("a.jinja2", "{# a comment about {{ nothing }} #}plain", ()),
        ("a.md", "Summarise {{ticket_text}} for {{ audience }} and {{ audience }}.", ("audience", "ticket_text")),
        ("a.prompt", "{{#if urgent}}Now:{{/if}} {{ user.name }}", ("user",)),
        ("a.prompty", "system:\n{% for m in history %}{{ m }}{% endfor %} {{ question }}", ("history", "question")),
    ],
)
def test_find(path: str, body: str, expected: tuple[str, ...]) -> None:
    assert find(body, path, {}, 1) == expected


def test_mustache_prompty_uses_placeholders() -> None:
    assert find("{{#items}}{{.}}{{/items}} {{ q }}", "a.prompty", {"template": "mustache"}, 1) == ("q",)


def test_invalid_jinja_names_the_line() -> None:
    with pytest.raises(FatalError, match="invalid Jinja template") as raised:
        find("ok\n{% for x in %}\n", "a.jinja2", {}, 5)
    assert raised.value.line == 6


@pytest.mark.parametrize(
    ("old", "new", "increment"),
    [
        (("a",), ("a",), Increment.PATCH),
        (("a",), ("a", "b"), Increment.MAJOR),
        (("a", "b"), ("a",), Increment.MINOR),
        (("a",), ("b",), Increment.MAJOR),
        (None, ("a",), Increment.PATCH),
    ],
)
def test_required_increment(old: tuple[str, ...] | None, new: tuple[str, ...], increment: Increment) -> None:
    assert required_increment(old, new)[0] is increment


@pytest.mark.parametrize(
    ("path", "metadata", "body"),
    [
        ("a.jinja2", {}, 'Hi {% include "x.j2" %}'),
        ("a.jinja2", {}, '{% extends "base.j2" %}'),
        ("a.jinja2", {}, '{% from "m.j2" import greet %}'),
        ("a.prompty", {}, '{% include "x.j2" %}'),
        ("a.prompt", {}, "Hi {{> part}}"),
        ("a.prompt", {}, "Hi {{~> part}}"),
        ("a.prompt", {}, "{{#> layout}}x{{/layout}}"),
    ],
)
def test_a_body_that_may_use_another_template_is_never_taken_for_one_that_cannot(path: str, metadata: dict[str, object], body: str) -> None:
    assert analyse(body, path, metadata, 1).references, "the case must have a reference"
    assert may_reference(body, path, metadata)


@pytest.mark.parametrize(
    ("path", "body"),
    [("a.jinja2", "Hi {{ who }}\n{% for x in xs %}{{ x }}{% endfor %}"), ("a.prompt", "Hi {{ who }} > you"), ("a.md", 'Hi {{ who }} {% include "x" %}')],
)
def test_a_body_that_cannot_use_another_template(path: str, body: str) -> None:
    assert not may_reference(body, path, {})
    assert analyse(body, path, {}, 1).references == ()


SUMMARIZE_SCHEMA = {"input": {"schema": {"text": "string"}}}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ("Summarize {{text}}.", []),
        ("Summarize {{text}}\nin a {{style}} style.", [(8, "style")]),
        ("{{#if style}}in {{style}}{{/if}}\n{{tone}} {{text}}", [(7, "style"), (8, "tone")]),
        ("{{#each items}}{{name}}{{/each}} {{text}}", [(7, "items")]),  # an item's field is not an input
    ],
)
def test_a_dotprompt_variable_missing_from_input_schema_is_an_error(body: str, errors: list[tuple[int, str]]) -> None:
    """Dotprompt accepts only declared inputs, and MLflow's format() requires every {{ name }}: name the line."""
    if not errors:
        assert analyse(body, "p/summarize.prompt", SUMMARIZE_SCHEMA, 7).required == ("text",)
        return
    with pytest.raises(FatalError) as raised:
        analyse(body, "p/summarize.prompt", SUMMARIZE_SCHEMA, 7)
    lines = str(raised.value).splitlines()
    assert [line.split(": variable ")[0] for line in lines] == [f"p/summarize.prompt:{line}" for line, _ in errors]
    assert lines[0] == (
        f"p/summarize.prompt:{errors[0][0]}: variable {errors[0][1]!r} is used in the body but not declared in input.schema; "
        f"declare it ({errors[0][1]}: string, or {errors[0][1]}?: string when optional): Dotprompt only accepts declared inputs, "
        "and MLflow's format() requires it"
    )


def test_a_dotprompt_without_a_declared_schema_reads_its_interface_from_the_body() -> None:
    assert analyse("{{style}} {{text}}", "p/a.prompt", {"input": {"schema": "SummaryInput"}}, 1).required == ("style", "text")
