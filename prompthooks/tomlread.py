"""TOML parsing with errors that name the file and line."""

from __future__ import annotations

import re
import sys
from typing import Any

from prompthooks.errors import FatalError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)|at line (\d+)")


def loads(raw: bytes, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise FatalError("not valid UTF-8", path=path, line=raw.count(b"\n", 0, error.start) + 1) from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _AT_LINE.search(message)
        line = int(match.group(1) or match.group(2)) if match else None
        message = _AT_LINE.sub("", message).strip().rstrip(".")
        raise FatalError(f"invalid TOML: {message}", path=path, line=line) from None
