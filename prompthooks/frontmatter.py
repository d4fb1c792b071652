"""Find, parse and minimally edit the YAML front matter of a prompt file.

Two styles exist: ``---`` delimited YAML at the top of ``.prompt``, ``.prompty``,
Markdown and text files, and a Jinja comment ``{# ... #}`` at the top of Jinja
templates.  A Jinja template's top comment is front matter only when one of
its lines starts with a key in ``FRONT_MATTER_KEYS`` and ``:`` (``name:``,
``model:``...); any other top comment (``{# NOTE: keep it short #}``) is prose,
never parsed, stamped or refused.  Edits touch only the ``version`` and ``bump`` lines so that key
order, comments, quoting and line endings survive byte for byte.
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

from prompthooks.errors import FatalError
from prompthooks.records import JINJA_SUFFIXES

BOM = "\ufeff"

_DASHES_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_DASHES_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_JINJA_OPEN = re.compile(r"\A\{#-?")
_JINJA_CLOSE = re.compile(r"-?#\}(?:[ \t]*\r?\n)?")
_INLINE_SPACE = re.compile(r"[ \t]*")

MAX_FRONT_MATTER_CHARS: Final = 64 * 1024
"""Front matter longer than this is refused before YAML sees it: metadata, not content, belongs there."""
MAX_YAML_NODES: Final = 10_000
"""The most YAML nodes a front matter may hold once its aliases are expanded ("billion laughs" stops here)."""
MAX_YAML_DEPTH: Final = 100

FRONT_MATTER_KEYS: Final = (
    # prompthooks
    "name", "version", "bump",
    # MLflow's prompt registry
    "description", "tags", "model_config", "response_format", "commit_message",
    # Prompty and Dotprompt
    "model", "config", "authors", "sample", "inputs", "outputs", "input", "output", "template", "tools", "metadata",
    "variables", "messages",
)  # fmt: skip
"""A Jinja template's top ``{# ... #}`` comment is front matter when a line of it starts with one of these keys and ':'."""
_KNOWN_KEY_LINE = re.compile(rf"^[ \t]*(?:{'|'.join(FRONT_MATTER_KEYS)})[ \t]*:(?:[ \t]|$)", re.MULTILINE)

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


def _utf16_byte_order(raw: bytes) -> str | None:
    """"UTF-16LE"/"UTF-16BE" when ``raw`` looks like UTF-16 text (a byte-order mark, or NULs in every other byte)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) and not raw.startswith(b"\xff\xfe\0\0"):
        return "UTF-16LE" if raw.startswith(b"\xff\xfe") else "UTF-16BE"
    sample = raw[:4096]
    pairs = len(sample) // 2
    if pairs < 4:
        return None
    odd_nuls, even_nuls = sample[1::2].count(0), sample[0::2].count(0)
    if odd_nuls >= pairs / 2 and even_nuls == 0:
        return "UTF-16LE"
    if even_nuls >= pairs / 2 and odd_nuls == 0:
        return "UTF-16BE"
    return None


def decode(raw: bytes, path: str) -> str:
    """UTF-8 text without a leading BOM; binary or undecodable bytes are errors."""
    utf16 = _utf16_byte_order(raw)
    if utf16 is not None:
        raise FatalError(f"encoded as {utf16}, not UTF-8; re-save the file as UTF-8", path=path)
    if b"\0" in raw:
        raise FatalError("binary file (contains NUL bytes), not a prompt template", path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise FatalError(f"not valid UTF-8 (byte {error.start}); re-save the file as UTF-8", path=path, line=line) from None
    return text[1:] if text.startswith(BOM) else text


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _within_bounds_unwalked(text: str) -> bool:
    """Bounds that hold without walking the nodes: the usual front matter, short and without aliases.

    Without an alias (``*``) every node is written out, so there are fewer
    nodes than characters; and every collection opens with ``[``, ``{`` or
    ``-``, or holds a ``:`` or ``?``, so it cannot nest deeper than they count.
    """
    if "*" in text or len(text) >= MAX_YAML_NODES:
        return False
    return sum(text.count(indicator) for indicator in "[{-:?") < MAX_YAML_DEPTH


def _expanded_nodes(root: Any, path: str, first_line: int) -> None:
    """Refuse a node graph whose aliases would expand past ``MAX_YAML_NODES`` nodes, or nest too deep.

    PyYAML builds an alias as a shared reference, cheaply; the cost comes later,
    when the metadata is hashed or serialized and every reference is expanded.
    Each distinct node's expanded size is computed once, so this is linear in
    the front matter's length however many times its aliases repeat.
    """
    import yaml

    sizes: dict[int, int] = {}
    # Iterative post-order walk: (node, depth, children already counted).
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    open_nodes: set[int] = set()
    while stack:
        node, depth, counted = stack.pop()
        key = id(node)
        if counted:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_NODES:
                raise FatalError(
                    f"front matter expands to more than {MAX_YAML_NODES} YAML nodes through anchors and aliases; "
                    "write the values out instead of repeating them by alias",
                    path=path,
                    line=first_line + node.start_mark.line,
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise FatalError(
                "front matter has a recursive YAML alias (an anchor used inside itself); remove it",
                path=path,
                line=first_line + node.start_mark.line,
            )
        if depth > MAX_YAML_DEPTH:
            raise FatalError(f"front matter nests deeper than {MAX_YAML_DEPTH} levels; flatten it", path=path, line=first_line + node.start_mark.line)
        open_nodes.add(key)
        stack.append((node, depth, True))
        if isinstance(node, yaml.CollectionNode):
            stack.extend((child, depth + 1, False) for child in _children(node) if id(child) not in sizes)


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _load_yaml(text: str, path: str, first_line: int) -> object:
    if len(text) > MAX_FRONT_MATTER_CHARS:
        raise FatalError(
            f"front matter is {len(text)} characters, over the limit of {MAX_FRONT_MATTER_CHARS}; "
            "keep metadata in front matter and move long text into the template",
            path=path,
            line=first_line,
        )
    import yaml  # imported here: files the hook's cache knows are never parsed

    loader_class: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if not _within_bounds_unwalked(text):
            _expanded_nodes(node, path, first_line)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = min(first_line + mark.line, first_line + text.count("\n")) if mark is not None else first_line  # not past the end
        problem = error.problem or error.context or "invalid YAML"
        raise FatalError(f"invalid YAML front matter: {problem}", path=path, line=line) from None
    except yaml.YAMLError as error:
        raise FatalError(f"invalid YAML front matter: {error}", path=path, line=first_line) from None
    except RecursionError:
        raise FatalError(f"front matter nests deeper than {MAX_YAML_DEPTH} levels; flatten it", path=path, line=first_line) from None
    finally:
        loader.dispose()


def parse(text: str, path: str) -> Document:
    """Split ``text`` (BOM already removed) into front matter and body."""
    jinja = is_jinja(path)
    if jinja:
        opener, closer = _JINJA_OPEN.match(text), _JINJA_CLOSE
    else:
        opener, closer = _DASHES_OPEN.match(text), _DASHES_CLOSE
    if opener is None:
        return Document(None, text)
    close = closer.search(text, opener.end())
    if close is None:
        raise FatalError("front matter is not closed", path=path, line=1)
    start, end = opener.end(), close.start()
    known_key = _KNOWN_KEY_LINE.search(text[start:end]) if jinja else None
    if jinja:
        if known_key is None:
            return Document(None, text)  # a prose comment, not front matter
        start = _INLINE_SPACE.match(text, start).end()  # type: ignore[union-attr]  # YAML may start on the `{#` line
    first_line = _line_of(text, start)
    try:
        data = _load_yaml(text[start:end], path, first_line)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            region = text[start:end]
            content_line = _line_of(text, start + len(region) - len(region.lstrip()))
            raise FatalError(f"front matter must be a YAML mapping, not {type(data).__name__}", path=path, line=content_line)
    except FatalError as error:
        if known_key is not None:
            error.message += f" (the top comment is front matter because a line starts with '{known_key.group().strip()}')"
        raise
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
