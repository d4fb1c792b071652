"""The variables a template needs: its interface, which decides the minimum version bump.

Jinja templates (and Prompty files, whose default engine is Jinja2) are parsed,
never rendered, and their undeclared variables collected; other formats use
``{{ var }}`` placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prompthooks.errors import FatalError
from prompthooks.versioning import Increment

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)[^{}]*\}\}")
JINJA_EXTENSIONS = ("jinja2.ext.loopcontrols", "jinja2.ext.do")


def _prompty_engine(metadata: Mapping[str, Any]) -> str:
    template = metadata.get("template")
    if isinstance(template, str):
        return template
    if isinstance(template, Mapping) and isinstance(template.get("format"), str):
        return str(template["format"])
    return "jinja2"


def uses_jinja(path: str, metadata: Mapping[str, Any]) -> bool:
    if path.endswith((".jinja2", ".j2", ".jinja")):
        return True
    return path.endswith(".prompty") and _prompty_engine(metadata).lower() in ("jinja2", "jinja")


def find(body: str, path: str, metadata: Mapping[str, Any], first_body_line: int) -> tuple[str, ...]:
    """The sorted names the template reads from its caller."""
    if not uses_jinja(path, metadata):
        return tuple(sorted(set(_PLACEHOLDER.findall(body))))
    import jinja2  # only for templates the cache does not know
    from jinja2 import meta

    environment = jinja2.Environment(extensions=list(JINJA_EXTENSIONS))
    try:
        parsed = environment.parse(body)
    except jinja2.TemplateSyntaxError as error:
        line = first_body_line + (error.lineno or 1) - 1
        raise FatalError(f"invalid Jinja template: {error.message}", path=path, line=line) from None
    return tuple(sorted(meta.find_undeclared_variables(parsed)))


def required_increment(old: tuple[str, ...] | None, new: tuple[str, ...]) -> tuple[Increment, str]:
    """The smallest bump a change from ``old`` to ``new`` variables allows, and why."""
    if old is None:
        return Increment.PATCH, "content changed"
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    if added:
        return Increment.MAJOR, "adds variable " + ", ".join(added)
    if removed:
        return Increment.MINOR, "removes variable " + ", ".join(removed)
    return Increment.PATCH, "content changed"
