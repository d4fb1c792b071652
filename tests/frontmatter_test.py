from __future__ import annotations

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
        ("a.jinja2", "{#\n  name: a\n  bump: minor\n#}\nHi\n", {"name": "a", "bump": "minor"}, "Hi\n"),
    ],
)
def test_front_matter_found(path: str, text: str, data: dict[str, object], body: str) -> None:
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
        ("a.jinja2", "{#\n- a\n#}\nx", 2, "must be a YAML mapping"),
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
