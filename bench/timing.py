"""Whole-process timings for the benchmarks: single commands, and pairs run in turn so their ratio survives a drifting machine."""

from __future__ import annotations

import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple


def timed(command: list[str], cwd: Path, expect: int, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != expect:
        raise SystemExit(f"{command} exited {result.returncode}, expected {expect}: {result.stdout.decode()}{result.stderr.decode()}")
    return elapsed


def samples_of(runs: int, prepare: Callable[[int], None], command: list[str], cwd: Path, expect: int) -> list[float]:
    samples = []
    for run in range(runs):
        prepare(run)
        samples.append(timed(command, cwd, expect))
    return samples


def median_of(runs: int, prepare: Callable[[int], None], command: list[str], cwd: Path, expect: int) -> float:
    return statistics.median(samples_of(runs, prepare, command, cwd, expect))


def nothing() -> None:
    """No preparation."""


class Run(NamedTuple):
    """One command to time, and what to do before each run of it (untimed)."""

    command: list[str]
    cwd: Path
    expect: int
    prepare: Callable[[], None] = nothing
    env: dict[str, str] | None = None


class Pair(NamedTuple):
    measured: list[float]
    baseline: list[float]
    measured_cpu: list[float]  # user+sys seconds of the command and what it waited for
    baseline_cpu: list[float]

    @property
    def ratio(self) -> float:
        """The median of the run-by-run ratios: each pair ran back to back, on the same machine state."""
        return statistics.median(a / b for a, b in zip(self.measured, self.baseline, strict=True))

    @property
    def cpu_ratio(self) -> float:
        """The same in CPU time, which other jobs on the machine disturb less than wall time."""
        return statistics.median(a / b for a, b in zip(self.measured_cpu, self.baseline_cpu, strict=True))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def paired(runs: int, measured: Run, baseline: Run) -> Pair:
    """Both commands, in turn (A B A B ...), after one untimed run of each."""
    for run in (measured, baseline):
        run.prepare()
        timed(run.command, run.cwd, run.expect, run.env)
    pair = Pair([], [], [], [])
    for _ in range(runs):
        for run, samples, cpu in ((measured, pair.measured, pair.measured_cpu), (baseline, pair.baseline, pair.baseline_cpu)):
            run.prepare()
            before = _cpu()
            samples.append(timed(run.command, run.cwd, run.expect, run.env))
            cpu.append(_cpu() - before)
    return pair


def row(label: str, baseline_label: str, pair: Pair, factor: float | None, slack: float = 0.0) -> str:
    """A Markdown row: both medians, the ratio, and the goal ``measured <= factor x baseline (+ slack)``, judged pair by pair.

    ``factor`` None: a comparison with no goal, which says the median difference instead.
    """
    measured, baseline = statistics.median(pair.measured), statistics.median(pair.baseline)
    if factor is None:
        difference = statistics.median(a - b for a, b in zip(pair.measured, pair.baseline, strict=True))
        verdict = f"{difference * 1000:+,.0f} ms"
    else:
        excess = statistics.median(a - factor * b for a, b in zip(pair.measured, pair.baseline, strict=True))
        verdict = f"≤ {factor:g}×" + (f" (+{slack:g} s)" if slack else "") + (": met" if excess <= slack else ": **not met**")
    return f"| {label} | {measured * 1000:,.0f} ms | {baseline_label}: {baseline * 1000:,.0f} ms | {pair.ratio:.2f}× (CPU {pair.cpu_ratio:.2f}×) | {verdict} |"
