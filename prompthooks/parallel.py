"""Work on every core: many prompt files read by a pool (a fresh clone, a lock made from scratch),
or one task done by a forked child while the parent does another (``alongside``).

Only when there are enough files to pay for the workers, and only where
``fork`` exists (the workers inherit the parent's imports instead of paying
for them again).  A worker's ``FatalError`` comes back as a value (it pickles
with its path, line and exit code), so errors are reported exactly as a
serial run reports them.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

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
    import signal

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    size = -(-len(tasks) // (workers * CHUNKS_PER_WORKER))
    chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
    # A worker must end when the pool terminates it (SIGTERM), not run the handler it inherited from the CLI.
    with multiprocessing.get_context("fork").Pool(workers, initializer=signal.signal, initargs=(signal.SIGTERM, signal.SIG_DFL)) as pool:
        results = pool.map(functools.partial(_run_chunk, work), chunks)
    return [outcome for outcomes in results for outcome in outcomes]


def alongside(work: Callable[[], Any], meanwhile: Sequence[Callable[[], object]]) -> Any | None:
    """A forked child computes ``work()`` while this process runs the steps of ``meanwhile``; the child's result, or None.

    ``meanwhile`` is work this process will likely need next: its steps run in order, and those left
    when the child is done are not run (they would only delay the result).  None when there is no
    second core or no ``fork`` (then nothing of ``meanwhile`` runs), or when ``work`` failed in any
    way in the child: the caller then does ``work`` itself, so its errors are reported as a serial
    run reports them.  ``work`` returns what ``marshal`` carries (tuples, lists, strings, bytes,
    numbers) and prints nothing.
    """
    if not hasattr(os, "fork") or cores() < 2:
        return None
    import select

    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: work, hand the result over, and leave without running the parent's exit handlers
        try:
            os.close(reading)
            try:
                data = marshal.dumps((True, work()))
            except BaseException:  # noqa: BLE001 - any failure: the parent does the work again, where it is reported
                data = marshal.dumps((False, None))
            with os.fdopen(writing, "wb") as handing:
                handing.write(data)
        finally:
            os._exit(0)
    os.close(writing)
    pipe = os.fdopen(reading, "rb")
    try:
        for step in meanwhile:
            if select.select([reading], [], [], 0)[0]:
                break  # the child is done (or gone)
            step()
        data = pipe.read()
    finally:
        pipe.close()  # first: a child still writing then stops instead of waiting for a reader
        os.waitpid(child, 0)
    try:
        done, result = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    return result if done else None
