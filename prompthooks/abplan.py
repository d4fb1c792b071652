"""Which arms an A/B report compares, and over which time window (pure).

- A prompt with a split in ENV (prompt-level tag ``prompthooks_split_ENV``): its arms are the aliases the
  split names, each on the MLflow version it points at now, with the split's weights.
- A prompt whose split has ended (or, with no split in ENV at all, every prompt of the newest split record):
  the arms of the newest deployment record that split it, the main arm's version and the variant's as recorded.

The window starts when the arms began serving side by side: at the newest deployment record that moved
one of the prompt's arm aliases or split it (before it, the main arm served alone, and an A/B comparison
across that time would compare periods, not prompts).  An ended split's window ends at the first record
after it that moved one of those aliases.  ``--since`` / ``--from`` replace the start.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, NamedTuple

from prompthooks import contract, deployplan, deployrecord
from prompthooks.deployrecord import Deployment
from prompthooks.registry.stored import PromptState

DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])\Z")
SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Arm(NamedTuple):
    alias: str  # ENV (the main arm) or ENV--NAME
    number: int  # the MLflow version it serves
    weight: int


class Plan(NamedTuple):
    """One prompt's arms (the main arm first) and the window its traces are read from."""

    name: str
    arms: tuple[Arm, ...]
    active: bool  # the split serves now (False: read from a deployment record)
    start_ms: int | None  # None: no record says when the arms began; every linked trace counts
    end_ms: int | None  # None: now
    record: str | None  # the deployment record the window starts at


def duration_seconds(text: str) -> float:
    """``30m``, ``12h``, ``7d``, ``2w`` (or seconds, ``90s``) as seconds; ``ValueError`` for anything else."""
    match = DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"--since {text!r} is not a duration such as 30m, 12h, 7d or 2w")
    return float(match.group(1)) * SECONDS[match.group(2)]


def time_ms(text: str) -> int:
    """An ISO 8601 date or time (``2026-11-27``, ``2026-11-27T17:30``, ``...Z``, ``...+02:00``; UTC unless it says) in ms."""
    cleaned = text.strip()
    cleaned = cleaned[:-1] + "+00:00" if cleaned.endswith(("Z", "z")) else cleaned
    try:
        parsed = datetime.datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"--from {text!r} is not an ISO 8601 date or time such as 2026-11-27 or 2026-11-27T17:30:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return int(parsed.timestamp() * 1000)


def iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _recorded_ms(record: Deployment) -> int | None:
    try:
        return time_ms(record.deployed_at)
    except ValueError:
        return None


def _touches(record: Deployment, name: str, aliases: Iterable[str]) -> bool:
    wanted = set(aliases)
    return any(move.name == name and move.alias in wanted for move in record.moved)


def _split_record(name: str, newest_first: Sequence[Deployment]) -> int | None:
    """The index of the newest split record that gave ``name`` a variant."""
    return next((index for index, record in enumerate(newest_first) if record.reason == deployrecord.SPLIT and name in record.variants), None)


def active(environment: str, state: PromptState, newest_first: Sequence[Deployment]) -> tuple[Plan | None, list[str]]:
    """The plan of a prompt whose split serves now (None when the tag names no arm that points anywhere)."""
    weights = deployplan.parse_split(state.tags.get(contract.split_tag(environment)))
    notes = [f"{state.name}: split arm {alias} points at no version; left out" for alias in sorted(weights) if alias not in state.aliases]
    arms = [Arm(alias, state.aliases[alias], weight) for alias, weight in weights.items() if alias in state.aliases and weight > 0]
    arms.sort(key=lambda arm: (arm.alias != environment, arm.alias))
    if len(arms) < 2 or arms[0].alias != environment:
        return None, [*notes, f"{state.name}: its split in {environment} has no main arm and a variant to compare"]
    aliases = [arm.alias for arm in arms]
    found = next(
        (record for record in newest_first if _touches(record, state.name, aliases) or (record.reason == deployrecord.SPLIT and state.name in record.variants)),
        None,
    )
    if found is None:
        notes.append(f"{state.name}: no deployment record of {environment} says when this split began; every trace linked to its arms counts")
    start = None if found is None else _recorded_ms(found)
    return Plan(state.name, tuple(arms), True, start, None, None if found is None else found.id), notes


def ended(environment: str, name: str, newest_first: Sequence[Deployment]) -> Plan | None:
    """The plan of a prompt's newest recorded split, read from its record (None: no record split it)."""
    index = _split_record(name, newest_first)
    if index is None:
        return None
    record = newest_first[index]
    if name not in record.prompts or record.variant is None:
        return None
    weight = record.weight if record.weight is not None else 0
    arms = (Arm(environment, record.prompts[name].number, 100 - weight), Arm(record.variant, record.variants[name].number, weight))
    aliases = [arm.alias for arm in arms]
    later = [newer for newer in newest_first[:index] if _touches(newer, name, aliases)]
    end = _recorded_ms(later[-1]) if later else None
    return Plan(name, arms, False, _recorded_ms(record), end, record.id)


def plans(
    environment: str, states: Mapping[str, PromptState], newest_first: Sequence[Deployment], named: Sequence[str]
) -> tuple[list[Plan], list[str]]:
    """The prompts to report on (those named, else every prompt split now, else the newest split record's), and notes."""
    key = contract.split_tag(environment)
    split_now = sorted(name for name, state in states.items() if key in state.tags)
    if named:
        names = list(dict.fromkeys(named))
    elif split_now:
        names = split_now
    else:
        index = next((index for index, record in enumerate(newest_first) if record.reason == deployrecord.SPLIT and record.variants), None)
        names = [] if index is None else sorted(newest_first[index].variants)
    found: list[Plan] = []
    notes: list[str] = []
    for name in names:
        state = states.get(name)
        if state is not None and key in state.tags:
            plan, said = active(environment, state, newest_first)
            notes += said
        else:
            plan = ended(environment, name, newest_first)
            if plan is None:
                notes.append(f"{name}: no split in {environment}, now or in its deployment records")
        if plan is not None:
            found.append(plan)
    return found, notes


def variant_name(environment: str, alias: str) -> str:
    """``production--b`` -> ``b``: what ``deploy --promote`` takes."""
    prefix = environment + contract.VARIANT_SEPARATOR
    return alias[len(prefix) :] if alias.startswith(prefix) else alias
