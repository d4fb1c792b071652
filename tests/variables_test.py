from __future__ import annotations

import pytest

from prompthooks.errors import FatalError
from prompthooks.variables import find, required_increment
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
