"""Evaluate the hook's inputs: read prompt files, parse the locks, plan and render the lock."""

from __future__ import annotations

import functools
from typing import NamedTuple

from prompthooks import lockfile, planning
from prompthooks.cache import Cache
from prompthooks.config import Config
from prompthooks.errors import FatalError, raise_collected
from prompthooks.inputs import Inputs
from prompthooks.records import FragmentEntry, LockEntry, PromptFile


class Workspace(NamedTuple):
    config: Config
    plan: planning.Plan
    current: dict[str, LockEntry] | None  # the lock on disk, None when there is none
    current_raw: bytes | None
    rendered: bytes  # the lock as it should be
    current_fragments: dict[str, FragmentEntry] | None = None  # the lock on disk's fragment tables


def _read_prompt(path: str) -> PromptFile:
    from prompthooks import promptfile  # parsing only on a cache miss

    with open(path, "rb") as file:
        return promptfile.read(file.read(), path)


def _read_lock(raw: bytes, label: str, cache: Cache) -> dict[str, LockEntry]:
    return cache.lock_entries(raw, lambda: lockfile.parse(raw, label))


def _read_fragments(raw: bytes | None, label: str, cache: Cache) -> dict[str, FragmentEntry]:
    if raw is None or b"\n[fragments." not in raw:
        return {}
    return cache.fragments(raw, lambda: lockfile.parse_fragments(raw, label))


def _read_prompts(inputs: Inputs, cache: Cache) -> list[tuple[str, PromptFile]]:
    files: list[tuple[str, PromptFile]] = []
    errors: list[FatalError] = []
    for path, key in inputs.prompts:
        try:
            files.append((path, cache.prompt_file(path, key, functools.partial(_read_prompt, path))))
        except FatalError as error:
            errors.append(error)
    raise_collected(errors)
    return files


def evaluate(inputs: Inputs, cache: Cache) -> Workspace:
    config = inputs.config
    files = _read_prompts(inputs, cache)
    baseline = _read_lock(inputs.head_lock, f"HEAD:{config.lock}", cache) if inputs.head_lock is not None else {}
    baseline_fragments = _read_fragments(inputs.head_lock, f"HEAD:{config.lock}", cache)
    parents: dict[str, set[str]] = {}
    if inputs.merge_head_lock is not None:
        other = _read_lock(inputs.merge_head_lock, f"MERGE_HEAD:{config.lock}", cache)
        baseline, parents = planning.merge_baselines(baseline, other)
        baseline_fragments = {**_read_fragments(inputs.merge_head_lock, f"MERGE_HEAD:{config.lock}", cache), **baseline_fragments}
    current = _read_lock(inputs.current_lock, config.lock, cache) if inputs.current_lock is not None else None
    current_fragments = _read_fragments(inputs.current_lock, config.lock, cache) if inputs.current_lock is not None else None
    legacy = inputs.head_lock is None or not lockfile.uses_dependencies(inputs.head_lock)
    plan = planning.plan(files, baseline, config, parents, baseline_fragments, legacy)
    rendered = lockfile.render(plan.entries, cache.chunks, plan.fragments, plan.composed)
    cache.save(plan.entries, rendered, plan.fragments, plan.composed)
    return Workspace(config, plan, current, inputs.current_lock, rendered, current_fragments)
