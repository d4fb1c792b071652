"""Read many prompt files on every core: a fresh clone, or a lock made from scratch.

Only when there are enough files to pay for the workers, and only where
``fork`` exists (the workers inherit the parent's imports instead of paying
for them again).  A worker's ``FatalError`` comes back as a value (it pickles
with its path, line and exit code), so errors are reported exactly as a
serial run reports them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from prompthooks.errors import FatalError

MIN_TASKS: Final = 1000  # below this, starting workers costs about what they save
CHUNKS_PER_WORKER: Final = 4

Task = TypeVar("Task")
Result = TypeVar("Result")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_chunk(work: Callable[[Task], Result], chunk: Sequence[Task]) -> list[Result | FatalError]:
    outcomes: list[Result | FatalError] = []
    for task in chunk:
        try:
            outcomes.append(work(task))
        except FatalError as error:
            outcomes.append(error)
    return outcomes


def map_all(work: Callable[[Task], Result], tasks: Sequence[Task]) -> list[Result | FatalError] | None:
    """Each task's result or error, in order, worked by a pool of processes; None when a pool would not pay."""
    workers = min(cores(), len(tasks) // (MIN_TASKS // 2))
    if len(tasks) < MIN_TASKS or workers < 2:
        return None
    import functools
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    size = -(-len(tasks) // (workers * CHUNKS_PER_WORKER))
    chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.map(functools.partial(_run_chunk, work), chunks)
    return [outcome for outcomes in results for outcome in outcomes]
