from __future__ import annotations

import time

import pytest

from prompthooks import frontmatter
from prompthooks.errors import FatalError


def _parse(text: str, path: str) -> frontmatter.Document:
    return frontmatter.parse(text, path)


@pytest.mark.parametrize(
    ("path", "text", "data", "body"),
    [
        ("a.md", "---\nname: a\n---\nHello\n", {"name": "a"}, "Hello\n"),
        ("a.md", "---\r\nname: a\r\n---\r\nHello\r\n", {"name": "a"}, "Hello\r\n"),
        ("a.prompt", "---\n---\nbody", {}, "body"),
        ("a.prompt", "---\nname: a\n...\nbody", {"name": "a"}, "body"),
        ("a.jinja2", "{#\nname: a\n#}\nHi {{ x }}\n", {"name": "a"}, "Hi {{ x }}\n"),
        ("a.j2", "{#-\nname: a\n-#}\nHi\n", {"name": "a"}, "Hi\n"),
        ("a.jinja", "{# name: a #}Hi", {"name": "a"}, "Hi"),
        ("a.jinja2", "{# name: assistant\nmodel: gpt-4o-mini #}\nHi\n", {"name": "assistant", "model": "gpt-4o-mini"}, "Hi\n"),
        ("a.jinja2", "{#-  name: a\n    bump: minor\n#}\nHi\n", None, None),
        ("a.jinja2", "{#\ndescription: Answers questions.\n#}\nHi\n", {"description": "Answers questions."}, "Hi\n"),
        ("a.jinja2", "{#\n  name: a\n  bump: minor\n#}\nHi\n", {"name": "a", "bump": "minor"}, "Hi\n"),
    ],
)
def test_front_matter_found(path: str, text: str, data: dict[str, object] | None, body: str | None) -> None:
    if data is None:  # YAML on the `{#` line, further lines indented to match: the first line sets the indent
        with pytest.raises(FatalError, match="invalid YAML front matter"):
            _parse(text, path)
        return
    document = _parse(text, path)
    assert document.front_matter is not None
    assert document.front_matter.data == data
    assert document.body == body


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("a.md", "Hello\n---\nname: a\n---\n"),
        ("a.jinja2", "Hi {# name: a #}"),
        ("a.jinja2", "{# Renders the assistant prompt. #}\nHi\n"),
        ("a.md", "{#\nname: a\n#}\n"),
        ("a.jinja2", "---\nname: a\n---\nHi"),
    ],
)
def test_no_front_matter(path: str, text: str) -> None:
    document = _parse(text, path)
    assert document.front_matter is None
    assert document.body == text


@pytest.mark.parametrize(
    ("path", "text", "line", "message"),
    [
        ("a.md", "---\nname: a\nmodel: [unclosed\n---\nx", 4, "invalid YAML front matter"),
        ("a.md", "---\n- a\n- b\n---\nx", 2, "must be a YAML mapping, not list"),
        ("a.md", "---\nname: a\n", 1, "front matter is not closed"),
        ("a.jinja2", "{#\nname: [a\n#}\nx", 3, r"invalid YAML front matter: .*\(the top comment is front matter because a line starts with 'name:'\)"),
    ],
)
def test_front_matter_errors(path: str, text: str, line: int, message: str) -> None:
    with pytest.raises(FatalError, match=message) as raised:
        _parse(text, path)
    assert raised.value.path == path
    assert raised.value.line == line


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"a\x00b", "binary file"), (b"ok\n\xff\xfe", "not valid UTF-8")],
)
def test_decode_errors(raw: bytes, message: str) -> None:
    with pytest.raises(FatalError, match=message):
        frontmatter.decode(raw, "a.md")


def test_decode_drops_bom() -> None:
    assert frontmatter.decode("\ufeffhi".encode(), "a.md") == "hi"


@pytest.mark.parametrize(
    ("path", "before", "version", "drop_bump", "after"),
    [
        (
            "a.md",
            "---\nname: a  # the registry name\nversion: 1.0.0\nbump: minor\ntags: [x]\n---\nbody\n",
            "1.1.0",
            True,
            "---\nname: a  # the registry name\nversion: 1.1.0\ntags: [x]\n---\nbody\n",
        ),
        (
            "a.md",
            "---\r\nname: a\r\nversion: '1.0.0'   # stamped\r\n---\r\nbody\r\n",
            "1.0.1",
            False,
            "---\r\nname: a\r\nversion: '1.0.1'   # stamped\r\n---\r\nbody\r\n",
        ),
        (
            "a.md",
            '---\nversion: "1.0.0"\nbump: patch\n---\nbody',
            "1.0.1",
            True,
            '---\nversion: "1.0.1"\n---\nbody',
        ),
        ("a.md", "---\nname: a\nother: 1\n---\nbody", "1.0.0", False, "---\nname: a\nversion: 1.0.0\nother: 1\n---\nbody"),
        ("a.md", "---\nother: 1\n---\nbody", "1.0.0", False, "---\nversion: 1.0.0\nother: 1\n---\nbody"),
        ("a.md", "---\n---\nbody", "1.0.0", False, "---\nversion: 1.0.0\n---\nbody"),
        (
            "a.jinja2",
            "{#\n  name: a\n  model:\n    version: gpt-4\n#}\nHi\n",
            "2.0.0",
            False,
            "{#\n  name: a\n  version: 2.0.0\n  model:\n    version: gpt-4\n#}\nHi\n",
        ),
        (
            "a.jinja2",
            "{#-\nmodel:\n  version: gpt-4\nversion: 1.0.0\nbump: major\n-#}\nHi\n",
            "2.0.0",
            True,
            "{#-\nmodel:\n  version: gpt-4\nversion: 2.0.0\n-#}\nHi\n",
        ),
    ],
)
def test_stamp_changes_only_version_and_bump(path: str, before: str, version: str, drop_bump: bool, after: str) -> None:
    document = _parse(before, path)
    assert document.front_matter is not None
    assert frontmatter.stamp(before, document.front_matter, path, version=version, drop_bump=drop_bump) == after


def test_stamp_refuses_what_it_cannot_edit_line_by_line() -> None:
    text = "---\nname: a\nversion: >-\n  1.0.0\n---\nbody"
    document = _parse(text, "a.md")
    assert document.front_matter is not None
    with pytest.raises(FatalError, match="set 'version: 1.0.1' by hand"):
        frontmatter.stamp(text, document.front_matter, "a.md", version="1.0.1", drop_bump=False)


PROSE_COMMENTS = [
    "{# NOTE: keep it short #}\nHi\n",
    "{# 2024-05-01 #}\nHi\n",
    "{#\n- keep it short\n- no emojis: ever\n#}\nHi\n",
    "{#\n  * first: do this\n  * then: that\n#}\nHi\n",
    "{# TODO: name the variables better #}\nHi\n",
    "{# Names: alice, bob #}\nHi\n",
    "{# a: b: c #}\nHi\n",
    "{# [unbalanced #}\nHi\n",
    "{# version 2 of the prompt, see the wiki #}\nHi\n",
    "{#\n   Usage: render with user and question.\n   Owner: team-a\n#}\nHi\n",
    "{# modelling: the assistant #}\nHi\n",
    "{##}\nHi\n",
    "{#\n- name: the assistant\n- model: whatever is cheapest\n#}\nHi\n",
]


@pytest.mark.parametrize("text", PROSE_COMMENTS)
def test_prose_comment_is_not_front_matter(text: str) -> None:
    document = _parse(text, "a.jinja2")
    assert document.front_matter is None
    assert document.body == text


@pytest.mark.parametrize("key", frontmatter.FRONT_MATTER_KEYS)
def test_every_known_key_makes_front_matter(key: str) -> None:
    document = _parse(f"{{#\n{key}: x\n#}}\nHi\n", "a.jinja2")
    assert document.front_matter is not None
    assert document.front_matter.data == {key: "x"}


def test_stamp_yaml_on_the_comment_line_keeps_every_other_byte() -> None:
    text = "{# name: assistant\r\nmodel: gpt-4o-mini  # cheap\r\n#}\r\nHi {{ user }}\r\n"
    document = _parse(text, "a.jinja2")
    assert document.front_matter is not None
    stamped = frontmatter.stamp(text, document.front_matter, "a.jinja2", version="1.0.0", drop_bump=False)
    assert stamped == "{# name: assistant\r\nversion: 1.0.0\r\nmodel: gpt-4o-mini  # cheap\r\n#}\r\nHi {{ user }}\r\n"
    again = _parse(stamped, "a.jinja2")
    assert again.front_matter is not None
    assert again.front_matter.data == {"name": "assistant", "version": "1.0.0", "model": "gpt-4o-mini"}
    assert frontmatter.stamp(stamped, again.front_matter, "a.jinja2", version="1.0.0", drop_bump=False) == stamped


def _laughs(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        prev, cur = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "---\nname: bomb\n" + "\n".join(lines) + "\n---\nHi\n"


@pytest.mark.parametrize("path", ["a.md", "a.jinja2"])
def test_billion_laughs_is_refused_fast(path: str) -> None:
    text = _laughs(9)
    if path.endswith(".jinja2"):
        text = "{#" + text[3:].replace("\n---\n", "\n#}\n", 1)
    assert len(text.encode()) < 700
    started = time.perf_counter()
    with pytest.raises(FatalError, match="expands to more than 10000 YAML nodes through anchors and aliases") as raised:
        _parse(text, path)
    assert time.perf_counter() - started < 0.5
    assert raised.value.path == path and raised.value.line is not None
    assert "\n" not in str(raised.value)


def test_a_few_aliases_are_fine() -> None:
    text = "---\nname: a\ndefaults: &d {temperature: 0.2, max_tokens: 100}\nmodel_config: *d\n---\nHi\n"
    document = _parse(text, "a.md")
    assert document.front_matter is not None
    assert document.front_matter.data["model_config"] == {"temperature": 0.2, "max_tokens": 100}


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("name: a\nloop: &l [*l]\n", "recursive YAML alias"),
        ("name: a\ndeep: " + "[" * 150 + "]" * 150 + "\n", "nests deeper than 100 levels"),
        ("name: a\nx: '" + "y" * frontmatter.MAX_FRONT_MATTER_CHARS + "'\n", "over the limit of 65536"),
    ],
)
def test_hostile_front_matter(yaml_text: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(FatalError, match=message):
        _parse(f"---\n{yaml_text}---\nHi\n", "a.md")
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("---\nname: a\n---\nHi\n".encode("utf-16"), "encoded as UTF-16LE, not UTF-8; re-save the file as UTF-8"),
        ("---\nname: a\n---\nHi\n".encode("utf-16-le"), "encoded as UTF-16LE, not UTF-8"),
        ("---\nname: a\n---\nHi\n".encode("utf-16-be"), "encoded as UTF-16BE, not UTF-8"),
        (b"\xfe\xff" + "Hi".encode("utf-16-be"), "encoded as UTF-16BE"),
        ("caf\xe9\n".encode("latin-1"), "not valid UTF-8 .*; re-save the file as UTF-8"),
    ],
)
def test_encoding_is_named(raw: bytes, message: str) -> None:
    with pytest.raises(FatalError, match=message):
        frontmatter.decode(raw, "a.md")


def test_only_front_matter_that_cannot_break_the_bounds_skips_the_node_walk() -> None:
    usual = "name: a\ndescription: b\nmodel_config:\n  model: m\n  temperature: 0.2\ntags: [x, y]\n"
    assert frontmatter._within_bounds_unwalked(usual)
    assert not frontmatter._within_bounds_unwalked(usual + "other: *anchor\n")
    deep = "a: " + "[" * (frontmatter.MAX_YAML_DEPTH + 1) + "]" * (frontmatter.MAX_YAML_DEPTH + 1) + "\n"
    assert not frontmatter._within_bounds_unwalked(deep)
    with pytest.raises(FatalError, match="nests deeper"):
        frontmatter.parse(f"---\n{deep}---\nHi\n", "p.md")
    nested = "".join(f"{'  ' * level}k{level}:\n" for level in range(frontmatter.MAX_YAML_DEPTH + 1)) + f"{'  ' * 101}leaf: 1\n"
    assert not frontmatter._within_bounds_unwalked(nested)
    with pytest.raises(FatalError, match="nests deeper"):
        frontmatter.parse(f"---\n{nested}---\nHi\n", "p.md")
