"""The Handlebars-aware reading of Dotprompt bodies."""

from __future__ import annotations

import pytest

from prompthooks.errors import FatalError
from prompthooks.handlebars import analyse


@pytest.mark.parametrize(
    ("body", "required", "optional", "partials"),
    [
        ("{{#if urgent}}Now {{name}}{{else}}Later{{/if}}", ("name",), ("urgent",), ()),
        ("{{#if a}}x{{else}}{{b}}{{/if}}", ("b",), ("a",), ()),
        ('{{ role "system" }}{{media url=videoUrl}}{{list ingredients}}', ("ingredients", "videoUrl"), (), ()),
        ("{{#each items as |it i|}}{{it.name}}{{@index}}{{this}}{{../top}}{{@root.r}}{{/each}}", ("items", "r", "top"), (), ()),
        ("{{#each xs}}{{name}}{{else}}{{empty}}{{/each}}", ("empty", "xs"), (), ()),
        ("{{#with user}}{{name}}{{/with}}", ("user",), (), ()),
        ("{{!-- {{hidden}} --}}{{! also hidden}}{{shown}}", ("shown",), (), ()),
        ("{{> style}}\n{{#> layout}}x{{/layout}}", (), (), ("style", "layout")),
        ("{{json (lookup a b)}} {{history}} {{{raw}}} \\{{escaped}}", ("a", "b", "raw"), (), ()),
        ('{{#ifEquals kind "x"}}y{{/ifEquals}}', ("kind",), (), ()),
    ],
)
def test_analyse(body: str, required: tuple[str, ...], optional: tuple[str, ...], partials: tuple[str, ...]) -> None:
    found = analyse(body, "a.prompt", 1)
    assert (found.required, found.optional) == (required, optional)
    assert tuple(name for _, name, _ in found.references) == partials


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ("a\n{{#if x}}\nb", "{{#if}} is never closed", 3),
        ("a\n{{/if}}", "{{/if}} does not close", 2),
        ("a\n\n{{ open", "'{{' is never closed", 3),
    ],
)
def test_errors_name_the_line(body: str, message: str, line: int) -> None:
    with pytest.raises(FatalError, match="invalid Handlebars template") as raised:
        analyse(body, "a.prompt", 1)
    assert message in raised.value.message
    assert raised.value.line == line
