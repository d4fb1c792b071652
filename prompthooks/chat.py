"""Templates made of role sections (Prompty's ``system:`` / ``user:`` markers) as MLflow chat messages (pure).

A body is a chat when its first non-blank line is a role marker: ``system:``,
``user:``, ``assistant:`` or ``developer:`` alone on a line (any case, optionally
after ``#``), as Prompty's parser reads them.  Each section becomes one
``{"role", "content"}`` message, its content stripped of surrounding newlines as
Prompty strips it.  The text around the contents (marker lines, blank lines) is
kept as the *layout*, so the exact body, and with it the lock's content hash,
can be rebuilt from what a registry stores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

ROLES: Final = ("system", "user", "assistant", "developer")
_MARKER: Final = re.compile(r"^[ \t]*#?[ \t]*(" + "|".join(ROLES) + r")[ \t]*:[ \t]*$", re.IGNORECASE | re.MULTILINE)


class Chat(NamedTuple):
    messages: list[dict[str, str]]  # [{"role": ..., "content": ...}], as MLflow's chat prompts hold them
    layout: list[str]  # the text before, between and after the contents: len(messages) + 1 pieces


def split(body: str) -> Chat | None:
    """The body as chat messages, or None when it is not made of role sections."""
    markers = list(_MARKER.finditer(body))
    if not markers or body[: markers[0].start()].strip():
        return None
    messages: list[dict[str, str]] = []
    layout: list[str] = []
    previous_end = 0
    for index, marker in enumerate(markers):
        section_start = marker.end() + 1 if body.startswith("\n", marker.end()) else marker.end()
        section_end = markers[index + 1].start() if index + 1 < len(markers) else len(body)
        section = body[section_start:section_end]
        content = section.strip("\n")
        content_start = section_start + (len(section) - len(section.lstrip("\n")))
        layout.append(body[previous_end:content_start])
        messages.append({"role": marker.group(1).lower(), "content": content})
        previous_end = content_start + len(content)
    layout.append(body[previous_end:])
    return Chat(messages, layout)


def join(chat: Chat) -> str:
    """The body back from its messages and layout."""
    pieces = [chat.layout[0]]
    for message, after in zip(chat.messages, chat.layout[1:], strict=True):
        pieces += [message["content"], after]
    return "".join(pieces)


def rebuild(messages: object, layout: object) -> str | None:
    """The body a stored chat came from, or None when messages and layout do not fit together (edited)."""
    if not isinstance(messages, list) or not isinstance(layout, list) or len(layout) != len(messages) + 1:
        return None
    if not all(isinstance(piece, str) for piece in layout):
        return None
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages):
        return None
    body = join(Chat(messages, layout))
    return body if split(body) == Chat(messages, layout) else None


def _jinja_sections_parse(messages: list[dict[str, str]]) -> bool:
    """MLflow renders each message of a Jinja chat prompt on its own: a block spanning sections cannot be split."""
    if not any("{%" in message["content"] for message in messages):
        return True
    import jinja2

    from prompthooks.records import JINJA_EXTENSIONS

    environment = jinja2.Environment(extensions=list(JINJA_EXTENSIONS))
    try:
        for message in messages:
            environment.parse(message["content"])
    except jinja2.TemplateSyntaxError:
        return False
    return True


def chat_of(path: str, metadata: Mapping[str, Any], text: str) -> Chat | None:
    """A Prompty template made of role sections, as chat messages; None keeps it a text prompt.

    Sync registers such a template as an MLflow chat prompt, and the runtime loader serves it as messages.
    """
    from prompthooks.variables import uses_jinja

    if not path.endswith(".prompty") or not uses_jinja(path, metadata):
        return None
    found = split(text)
    return found if found is not None and _jinja_sections_parse(found.messages) else None
