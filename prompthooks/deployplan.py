"""Which aliases a deploy, rollback or split moves, and whether they stayed put (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from prompthooks.errors import FatalError

if TYPE_CHECKING:
    from prompthooks.registry.stored import PromptState

Wanted = Mapping[tuple[str, str], "int | None"]  # (prompt, alias) -> MLflow version; None: no alias


class Move(NamedTuple):
    name: str
    alias: str
    before: int | None
    after: int | None  # None: remove the alias


def current(states: Mapping[str, PromptState], name: str, alias: str) -> int | None:
    state = states.get(name)
    return None if state is None else state.aliases.get(alias)


def moves(wanted: Wanted, states: Mapping[str, PromptState]) -> list[Move]:
    """The alias changes that turn ``states`` into ``wanted``; nothing when they agree."""
    found = []
    for (name, alias), number in sorted(wanted.items()):
        before = current(states, name, alias)
        if before != number:
            found.append(Move(name, alias, before, number))
    return found


def overwritten(wanted: Wanted, states: Mapping[str, PromptState]) -> list[Move]:
    """Aliases that no longer are as this run left them: ``before`` is what it found, ``after`` what it wanted."""
    return [Move(name, alias, current(states, name, alias), number) for (name, alias), number in sorted(wanted.items()) if current(states, name, alias) != number]


def parse_split(raw: str | None) -> dict[str, int]:
    """A split tag's weights; an unreadable tag counts as no split."""
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(parsed, dict) or not all(isinstance(value, int) and not isinstance(value, bool) for value in parsed.values()):
        return {}
    return {str(key): int(value) for key, value in parsed.items()}


def with_variant(weights: Mapping[str, int], environment: str, variant: str, weight: int) -> dict[str, int]:
    """The split with ``variant`` at ``weight``; the environment's own alias gets the rest of 100."""
    others = {alias: share for alias, share in weights.items() if alias not in (environment, variant)}
    rest = 100 - weight - sum(others.values())
    if rest < 1:
        raise FatalError(
            f"{variant} at {weight}% leaves {rest}% for {environment} (other variants: {json.dumps(others)}); lower --weight or end the split first"
        )
    return {environment: rest, **dict(sorted({**others, variant: weight}.items()))}


def without_variant(weights: Mapping[str, int], environment: str, variant: str) -> dict[str, int] | None:
    """The split once ``variant`` leaves it; None when no variant is left."""
    others = {alias: share for alias, share in weights.items() if alias not in (environment, variant)}
    if not others:
        return None
    return {environment: 100 - sum(others.values()), **dict(sorted(others.items()))}


def split_json(weights: Mapping[str, int]) -> str:
    return json.dumps(dict(weights), separators=(", ", ": "))
