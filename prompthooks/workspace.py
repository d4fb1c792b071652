"""Evaluate the hook's inputs: read prompt files, parse the locks, plan and render the lock."""

from __future__ import annotations

import functools
from typing import NamedTuple

from prompthooks import lockfile, planning
from prompthooks.cache import Cache
from prompthooks.config import Config
from prompthooks.errors import FatalError, raise_collected
from prompthooks.inputs import Inputs
from prompthooks.records import LockEntry, PromptFile


class Workspace(NamedTuple):
    config: Config
    plan: planning.Plan
    current: dict[str, LockEntry] | None  # the lock on disk, None when there is none
    current_raw: bytes | None
    rendered: bytes  # the lock as it should be


def _read_prompt(path: str) -> PromptFile:
    from prompthooks import promptfile  # parsing only on a cache miss

    with open(path, "rb") as file:
        return promptfile.read(file.read(), path)


def _read_lock(raw: bytes, label: str, cache: Cache) -> dict[str, LockEntry]:
    return cache.lock_entries(raw, lambda: lockfile.parse(raw, label))


def _check_size(path: str, limit: int) -> None:
    from prompthooks import promptfile

    with open(path, "rb") as file:
        promptfile.check_template_size(promptfile.load(file.read(), path).content, path, limit)


def _read_prompts(inputs: Inputs, cache: Cache) -> list[tuple[str, PromptFile]]:
    files: list[tuple[str, PromptFile]] = []
    errors: list[FatalError] = []
    limit = inputs.config.max_template_chars
    for path, key in inputs.prompts:
        try:
            files.append((path, cache.prompt_file(path, key, functools.partial(_read_prompt, path))))
            if key[2] > limit:  # a UTF-8 file has at least as many bytes as characters: only large files are read
                _check_size(path, limit)
        except FatalError as error:
            errors.append(error)
    raise_collected(errors)
    return files


def evaluate(inputs: Inputs, cache: Cache) -> Workspace:
    config = inputs.config
    files = _read_prompts(inputs, cache)
    baseline = _read_lock(inputs.head_lock, f"HEAD:{config.lock}", cache) if inputs.head_lock is not None else {}
    parents: dict[str, set[str]] = {}
    if inputs.merge_head_lock is not None:
        other = _read_lock(inputs.merge_head_lock, f"MERGE_HEAD:{config.lock}", cache)
        baseline, parents = planning.merge_baselines(baseline, other)
    current = _read_lock(inputs.current_lock, config.lock, cache) if inputs.current_lock is not None else None
    plan = planning.plan(files, baseline, config, parents)
    rendered = lockfile.render(plan.entries, cache.chunks)
    cache.save(plan.entries, rendered)
    return Workspace(config, plan, current, inputs.current_lock, rendered)
