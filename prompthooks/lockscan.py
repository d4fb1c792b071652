"""Read a lock in the exact form prompthooks writes it, without a general TOML parser.

A lock of 10,000 prompts takes a pure-Python TOML parser about a second; this
reads it line by line in a fraction of that.  It accepts only a small subset
of TOML whose meaning is unambiguous: comment lines; ``key = "string"`` without
escapes; small integers; the ``[prompts.<name>]``, ``[fragments.<path>]`` and
``[retired]`` headers; and string arrays one item per line, as tomli-w writes
them.  It returns None at the first line outside that subset, and the caller
parses the lock with a real TOML parser instead: whatever it returns,
``tomllib.loads`` returns too (``tests/lockscan_test.py`` compares them).
"""

from __future__ import annotations

import re
from typing import Any, Final

_STRING: Final = r'"([^"\\\x00-\x1f\x7f]*)"'
_KEY: Final = rf"(?:([A-Za-z0-9_-]+)|{_STRING})"
_COMMENT: Final = re.compile(r"#[^\x00-\x08\x0a-\x1f\x7f]*\Z")
_NESTED_HEADER: Final = re.compile(rf"\[(prompts|fragments)\.{_KEY}\]\Z")
_STRING_VALUE: Final = re.compile(rf"{_KEY} = {_STRING}\Z")
_INTEGER_VALUE: Final = re.compile(rf"{_KEY} = (0|[1-9][0-9]{{0,17}})\Z")
_ARRAY_START: Final = re.compile(rf"{_KEY} = \[(\])?\Z")
_ARRAY_ITEM: Final = re.compile(rf"    {_STRING},\Z")


def _key(match: re.Match[str], group: int = 1) -> str:
    """A key matched by ``_KEY`` starting at ``group``: bare, or quoted."""
    return match[group] if match[group] is not None else match[group + 1]


def header(line: str) -> tuple[str, str] | None:
    """(root, key) of a table header line as ``scan`` reads it (``[retired]``: ("retired", "")); None for any other line."""
    if line == "[retired]":
        return ("retired", "")
    nested = _NESTED_HEADER.match(line)
    return None if nested is None else (nested[1], _key(nested, 2))


def scan(raw: bytes) -> dict[str, Any] | None:
    """The document, or None when the text leaves the subset (then a TOML parser decides)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    document: dict[str, Any] = {}
    opened: set[str] = set()  # top-level tables made by headers: never a plain key too
    table = document
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        first = line[0]
        if first == "#":
            if _COMMENT.match(line) is None:
                return None
            continue
        if first == "[":
            found = header(line)
            if found is None:
                return None
            root, name = found
            if root == "retired":
                if "retired" in document:  # opened twice, or a plain key already
                    return None
                opened.add("retired")
                table = document["retired"] = {}
                continue
            if root not in opened:
                if root in document:
                    return None
                opened.add(root)
                document[root] = {}
            if name in document[root]:
                return None
            table = document[root][name] = {}
            continue
        value: Any
        match = _STRING_VALUE.match(line)
        if match is not None:
            key, value = _key(match), match[3]
        elif (match := _INTEGER_VALUE.match(line)) is not None:
            key, value = _key(match), int(match[3])
        else:
            start = _ARRAY_START.match(line)
            if start is None:
                return None
            key, value = _key(start), []
            if start[3] is None:  # items follow, one a line, then "]"
                try:
                    end = lines.index("]", index)
                except ValueError:
                    return None
                for item_line in lines[index:end]:
                    item = _ARRAY_ITEM.match(item_line)
                    if item is None:
                        return None
                    value.append(item[1])
                index = end + 1
        if key in table or (table is document and key in opened):
            return None
        table[key] = value
    return document
