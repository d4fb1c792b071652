"""Select prompt files with .gitignore-style glob patterns.

A pattern without ``/`` matches a file name in any folder (``*.jinja2``); one
with ``/`` is matched from the repository root, where ``**`` spans folders
(``**/prompts/**/*.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _translate(pattern: str) -> str:
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            negated = body.startswith("!")
            body = re.escape(body[1:] if negated else body).replace(r"\-", "-")
            out.append(f"[^/{body}]" if negated else f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return prefix + "".join(out)


_ANY_FOLDERS = "(?:.*/)?"


def compile_patterns(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex that fully matches a repo-relative ``/`` path when any pattern does."""
    alternatives = [_translate(pattern) for pattern in patterns]
    if not alternatives:
        return re.compile(r"(?!)")
    # The patterns that match in any folder share one prefix, tried once: a path that no pattern matches (a
    # monorepo's code) is rejected after trying each folder depth once, not once per pattern.
    anywhere = [alternative[len(_ANY_FOLDERS) :] for alternative in alternatives if alternative.startswith(_ANY_FOLDERS)]
    rooted = [alternative for alternative in alternatives if not alternative.startswith(_ANY_FOLDERS)]
    grouped = [f"{_ANY_FOLDERS}(?:{'|'.join(anywhere)})"] if anywhere else []
    return re.compile("(?:" + "|".join(grouped + rooted) + r")\Z")


def select(paths: Iterable[str], include: Iterable[str], exclude: Iterable[str]) -> list[str]:
    included = compile_patterns(include).match
    excluded = compile_patterns(exclude).match
    return [path for path in paths if included(path) and not excluded(path)]
