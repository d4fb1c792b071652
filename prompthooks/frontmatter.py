"""Find, parse and minimally edit the YAML front matter of a prompt file.

Two styles exist: ``---`` delimited YAML at the top of ``.prompt``, ``.prompty``,
Markdown and text files, and a Jinja comment ``{# ... #}`` at the top of Jinja
templates.  Edits touch only the ``version`` and ``bump`` lines so that key
order, comments, quoting and line endings survive byte for byte.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from prompthooks.errors import FatalError

JINJA_SUFFIXES: tuple[str, ...] = (".jinja2", ".j2", ".jinja")
BOM = "\ufeff"

_DASHES_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_DASHES_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_JINJA_OPEN = re.compile(r"\A\{#-?")
_JINJA_CLOSE = re.compile(r"-?#\}(?:[ \t]*\r?\n)?")

class FrontMatter(NamedTuple):
    start: int  # offset of the YAML text in the (BOM-less) file text
    end: int
    first_line: int  # 1-based file line of ``start``
    data: dict[str, Any]


class Document(NamedTuple):
    front_matter: FrontMatter | None
    body: str  # the template after the front matter, line endings as in the file


def is_jinja(path: str) -> bool:
    return path.endswith(JINJA_SUFFIXES)


def decode(raw: bytes, path: str) -> str:
    """UTF-8 text without a leading BOM; binary or undecodable bytes are errors."""
    if b"\0" in raw:
        raise FatalError("binary file (contains NUL bytes), not a prompt template", path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise FatalError(f"not valid UTF-8 (byte {error.start})", path=path, line=line) from None
    return text[1:] if text.startswith(BOM) else text


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _load_yaml(text: str, path: str, first_line: int) -> object:
    import yaml  # imported here: files the hook's cache knows are never parsed

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first_line + mark.line if mark is not None else first_line
        problem = error.problem or error.context or "invalid YAML"
        raise FatalError(f"invalid YAML front matter: {problem}", path=path, line=line) from None
    except yaml.YAMLError as error:
        raise FatalError(f"invalid YAML front matter: {error}", path=path, line=first_line) from None


def parse(text: str, path: str) -> Document:
    """Split ``text`` (BOM already removed) into front matter and body."""
    if is_jinja(path):
        opener, closer = _JINJA_OPEN.match(text), _JINJA_CLOSE
    else:
        opener, closer = _DASHES_OPEN.match(text), _DASHES_CLOSE
    if opener is None:
        return Document(None, text)
    close = closer.search(text, opener.end())
    if close is None:
        raise FatalError("front matter is not closed", path=path, line=1)
    start, end = opener.end(), close.start()
    first_line = _line_of(text, start)
    data = _load_yaml(text[start:end], path, first_line)
    if data is None:
        data = {}
    if isinstance(data, str) and is_jinja(path):
        # A prose comment at the top of a template, not front matter.
        return Document(None, text)
    if not isinstance(data, dict):
        region = text[start:end]
        content_line = _line_of(text, start + len(region) - len(region.lstrip()))
        raise FatalError(f"front matter must be a YAML mapping, not {type(data).__name__}", path=path, line=content_line)
    return Document(FrontMatter(start, end, first_line, data), text[close.end() :])


def _key_line(key: str, indent: str) -> re.Pattern[str]:
    return re.compile(
        rf"^{re.escape(indent)}{key}[ \t]*:[ \t]*"
        r"(?P<quote>[\"']?)(?P<value>[^\"'\r\n#]*?)(?P=quote)(?P<tail>[ \t]*(?:#[^\r\n]*)?)(?P<eol>\r?\n|\Z)",
        re.MULTILINE,
    )


def _top_level_indent(region: str) -> str:
    for line in region.splitlines():
        stripped = line.lstrip(" \t")
        if stripped and not stripped.startswith("#"):
            return line[: len(line) - len(stripped)]
    return ""


def stamp(text: str, front_matter: FrontMatter, path: str, *, version: str, drop_bump: bool) -> str:
    """Return ``text`` with ``version: <version>`` set and, if asked, the ``bump`` line removed.

    Only those lines change.  The result is parsed again and compared with the
    intended mapping, so a front matter too unusual to edit line by line is an
    error instead of a silent corruption.
    """
    region = text[front_matter.start : front_matter.end]
    indent = _top_level_indent(region)
    newline = text.find("\n")
    eol = "\r\n" if newline > 0 and text[newline - 1] == "\r" else "\n"
    if drop_bump:
        region = _key_line("bump", indent).sub("", region, count=1)
    version_line = _key_line("version", indent)
    match = version_line.search(region)
    if match is not None:
        region = region[: match.start("value")] + version + region[match.end("value") :]
    else:
        name = _key_line("name", indent).search(region)
        insert_at = name.end() if name is not None and name["eol"] else _first_content_offset(region)
        if insert_at == len(region) and region and not region.endswith("\n"):
            region += eol
            insert_at = len(region)
        region = region[:insert_at] + f"{indent}version: {version}{eol}" + region[insert_at:]
    expected = {key: value for key, value in front_matter.data.items() if key != "bump" or not drop_bump}
    expected["version"] = version
    if _load_yaml(region, path, front_matter.first_line) != expected:
        raise FatalError(
            f"cannot update the front matter automatically; set 'version: {version}' by hand"
            + (" and delete the 'bump' line" if drop_bump else ""),
            path=path,
            line=front_matter.first_line,
        )
    return text[: front_matter.start] + region + text[front_matter.end :]


def _first_content_offset(region: str) -> int:
    offset = 0
    for line in region.splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return offset
        offset += len(line)
    return offset
