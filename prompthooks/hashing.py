"""The content hash of a prompt, and the scheme name recorded in the lock."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

from prompthooks.records import HASH_SCHEME as HASH_SCHEME
from prompthooks.records import PromptContent as PromptContent


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys; dates as ISO strings."""
    return json.dumps(_canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(content: PromptContent) -> str:
    """``sha256:<hex>`` of the body and the canonical JSON of the metadata."""
    canonical = canonical_json({"body": content.body, "metadata": content.metadata})
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
