"""The Handlebars-aware reading of Dotprompt bodies."""

from __future__ import annotations

import pytest

from prompthooks.errors import FatalError
from prompthooks.handlebars import Unrenderable, analyse, mlflow_unrenderable


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


@pytest.mark.parametrize(
    ("body", "tags"),
    [
        ("Summarize {{text}} for {{ audience }}.", []),
        ("Summarize the following text{{#if style}} in a {{style}} style{{/if}}:\n{{text}}", ["{{#if style}}", "{{/if}}"]),
        ("{{#each items}}- {{this}}\n{{else}}none{{/each}}", ["{{#each items}}", "{{this}}", "{{else}}", "{{/each}}"]),
        ('{{role "system"}}Hi {{history}} {{json data}} {{media url=photo}}', ['{{role "system"}}', "{{history}}", "{{json data}}", "{{media url=photo}}"]),
        ("{{! note}}{{!-- a {{x}} --}}{{{raw}}}{{~name~}}{{user.name}}\\{{kept}}", ["{{! note}}", "{{!-- a {{x}} --}}", "{{{raw}}}", "{{~name~}}", "{{user.name}}", "\\{{kept}}"]),
        ("{{> style}}\n{{~> footer}}", []),  # partials: sync registers them inlined
    ],
)
def test_what_mlflow_format_cannot_render(body: str, tags: list[str]) -> None:
    """MLflow's format() substitutes {{ name }} by a regular expression: every other tag is left as written."""
    assert [found.tag for found in mlflow_unrenderable(body, 1)] == tags


def test_what_mlflow_format_cannot_render_names_the_file_line() -> None:
    assert mlflow_unrenderable("a\n\n{{#if x}}y{{/if}}", 5) == [Unrenderable("{{#if x}}", 7), Unrenderable("{{/if}}", 7)]


def test_mlflow_leaves_them_as_written() -> None:
    """The reason for the warning, asserted against MLflow itself."""
    from mlflow.entities.model_registry.prompt_version import PromptVersion

    body = "Summarize the following text{{#if style}} in a {{style}} style{{/if}}: {{text}}"
    assert PromptVersion("s", 1, body).format(style="pirate", text="T") == "Summarize the following text{{#if style}} in a pirate style{{/if}}: T"
    assert [found.tag for found in mlflow_unrenderable(body, 1)] == ["{{#if style}}", "{{/if}}"]
