"""Flattening composed templates, verified by rendering both copies (pure: no git, no server)."""

from __future__ import annotations

import pytest

from prompthooks import config, flatten, variables


def _flatten(files: dict[str, str], body: str) -> tuple[str, dict[str, str]]:
    sources = {**files, "p/a.jinja2": body}
    required: set[str] = set()
    optional: set[str] = set()
    for path, text in sources.items():
        found = variables.analyse(text, path, {}, 1)
        required |= set(found.required)
        optional |= set(found.optional)
    text = flatten.flatten("p/a.jinja2", body, sources, config.DEFAULT, jinja=True)
    flatten.verify("p/a.jinja2", body, text, sources, config.DEFAULT, sorted(required), sorted(optional))
    return text, flatten.sample_values(sorted(required), sorted(optional))[0]


@pytest.mark.parametrize(
    ("files", "body", "rendered"),
    [
        ({"p/_rules.j2": "Be concise.\n"}, 'Rules: {% include "_rules.j2" %}\nAnswer {{ question }}.', "Rules: Be concise.\nAnswer <question sample>."),
        ({"p/_r.j2": "  R  \n"}, 'A  {%- include "_r.j2" -%}  B {{ q }}', "A  R  B <q sample>"),
        (
            {"p/base.jinja2": "Header\n{% block body %}Base {{ question }}{% endblock %}\n{%- block foot %} F{% endblock %}\n"},
            '{% extends "base.jinja2" %}{% set x = 1 %}ignored{% block body %}[{{ super() }}] more {{ x }}{% endblock %}',
            "Header\n[Base <question sample>] more 1 F",
        ),
        (
            {"p/_m.j2": "{% macro greet(who) %}Hello {{ who }}!{% endmacro %}\n{% macro bye() %}Bye{% endmacro %}\n"},
            '{% from "_m.j2" import greet, bye as b %}{{ greet(name) }} {{ b() }}',
            "Hello <name sample>! Bye",
        ),
        ({"p/_m.j2": "{% macro greet(who) %}Hello {{ who }}!{% endmacro %}\n"}, '{% import "_m.j2" as m %}{{ m.greet(name) }}', "Hello <name sample>!"),
        (
            {"p/_outer.j2": '<{% include "_inner.j2" %}>', "p/_inner.j2": "in {{ x }}"},
            '{% include "_outer.j2" %} {{ y }}',
            "<in <x sample>> <y sample>",
        ),
    ],
)
def test_flattened_copies_render_like_the_original(files: dict[str, str], body: str, rendered: str) -> None:
    text, values = _flatten(files, body)
    assert "include" not in text and "extends" not in text and "import" not in text
    assert flatten.render_like_mlflow(text, values) == rendered


@pytest.mark.parametrize(
    ("files", "body", "construct"),
    [
        ({"p/_m.j2": "{% macro greet() %}Hello {{ name }}!{% endmacro %}"}, '{% from "_m.j2" import greet %}{{ greet() }}', "renders differently"),
        ({"p/b.jinja2": "{% block x %}X{% endblock %}"}, '{% extends "b.jinja2" %}{% block x %}{{ self.y() }}{% endblock %}', "self.<block>()"),
        ({"p/b.jinja2": "{% block x scoped %}X{% endblock %}"}, '{% extends "b.jinja2" %}{% block x %}Y{% endblock %}', "a scoped block"),
        ({}, "{% include name %}", "{% include name %}"),
        ({"p/b.jinja2": "{% block x %}X{% endblock %}"}, '{% extends "b.jinja2" %}{% if a %}{% endif %}{% block x %}Y{% endblock %}', "{% if %} outside"),
    ],
)
def test_unfaithful_constructs_are_refused_by_name(files: dict[str, str], body: str, construct: str) -> None:
    with pytest.raises(flatten.NotFlattenable, match=construct.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        _flatten(files, body)
