"""The inputs a Dotprompt ``input.schema`` declares: Picoschema or plain JSON Schema.

Picoschema (https://genkit.dev/docs/dotprompt/#schemas) writes a field as
``name?(type, description): ...``: a trailing ``?`` makes it optional, and
``(*)`` stands for any other key.  A schema with a ``type`` and ``properties``
(or a bare ``type``) is JSON Schema: its ``required`` list is what callers
must pass.  Defaults from ``input.default`` make a field optional too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

_FIELD: Final = re.compile(r"\s*([^?(\s]+)\s*(\?)?\s*(?:\(.*\))?\s*\Z", re.DOTALL)


def _is_json_schema(schema: Mapping[str, Any]) -> bool:
    return isinstance(schema.get("type"), (str, list)) or isinstance(schema.get("properties"), Mapping)


def inputs(schema: Mapping[str, Any], defaults: object = None) -> tuple[set[str], set[str]]:
    """(required, optional) top-level input names."""
    required: set[str] = set()
    optional: set[str] = set()
    if _is_json_schema(schema):
        properties = schema.get("properties")
        names = [str(name) for name in properties] if isinstance(properties, Mapping) else []
        listed = schema.get("required")
        must = {str(name) for name in listed} if isinstance(listed, list) else set()
        for name in names:
            (required if name in must else optional).add(name)
    else:
        for key in schema:
            match = _FIELD.match(str(key))
            if match is None or match.group(1) == "*" or str(key).startswith("("):
                continue
            (optional if match.group(2) else required).add(match.group(1))
    if isinstance(defaults, Mapping):
        defaulted = {str(name) for name in defaults} & required
        required -= defaulted
        optional |= defaulted
    return required, optional
