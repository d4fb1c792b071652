"""Time the prompthooks-lock hook on generated repositories beside Python's own start-up.

    python bench/hook_bench.py [--sizes 100 1000 10000] [--runs 11] [--composed]

It installs prompthooks into a fresh virtual environment (not editable, as
pre-commit installs it), and for each size it builds a git repository of Jinja prompts with front matter,
then times, as pre-commit runs it (the ``prompthooks`` console script):
(a) a run with nothing changed, (b) a run after one prompt changed,
(c) creating the lock from scratch (no lock, no cache: every file parsed and stamped),
and (a') the no-change run with ``--no-cache``, to show what the cache buys.
Each figure is the median wall time of ``--runs`` runs (and the best run, which
a noisy machine disturbs least); ``python -c pass`` is measured in the same run.  Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATE = """{{#
name: prompt_{i:05d}
description: Generated prompt number {i} for the benchmark.
model_config:
  model: gpt-4o-mini
  temperature: 0.{t}
#}}
You are assistant {i}. Answer the question about {{{{ topic }}}} using the facts.
{{% for fact in facts %}}- {{{{ fact }}}}
{{% endfor %}}
Question: {{{{ question }}}}
"""


def git(repo: Path, *args: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com", GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com")
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def timed(command: list[str], cwd: Path, expect: int) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - start
    if result.returncode != expect:
        raise SystemExit(f"{command} exited {result.returncode}, expected {expect}: {result.stderr.decode()}")
    return elapsed


def median_of(runs: int, prepare: Callable[[int], None], command: list[str], cwd: Path, expect: int) -> float:
    return statistics.median(samples_of(runs, prepare, command, cwd, expect))


def samples_of(runs: int, prepare: Callable[[int], None], command: list[str], cwd: Path, expect: int) -> list[float]:
    samples = []
    for run in range(runs):
        prepare(run)
        samples.append(timed(command, cwd, expect))
    return samples


def build(root: Path, size: int, composed: bool = False) -> Path:
    repo = root / f"repo-{size}"
    for i in range(size):
        folder = repo / "prompts" / f"team{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        text = TEMPLATE.format(i=i, t=i % 10)
        if composed:  # every prompt includes its team's fragment: dependency tracking on every file
            (folder / "_rules.j2").write_text(f"Rules of team {i % 20}: be concise.\n")
            text = text.replace("#}\n", '#}\n{% include "_rules.j2" %}\n', 1)
        (folder / f"prompt_{i:05d}.jinja2").write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "prompts")
    return repo


def install(root: Path) -> Path:
    """A virtual environment with prompthooks installed as pre-commit would; returns its bin folder."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(PROJECT)], check=True)
    return venv / "bin"


def bench_size(root: Path, size: int, runs: int, baseline: float, prompthooks: str, composed: bool = False) -> str:
    repo = build(root, size, composed)
    lock, cache = repo / "prompts.lock", repo / ".git" / "prompthooks"

    def from_scratch(_: int) -> None:
        git(repo, "checkout", "-q", "--", ".")
        lock.unlink(missing_ok=True)
        shutil.rmtree(cache, ignore_errors=True)

    create = samples_of(max(3, runs // 3), from_scratch, [prompthooks, "lock"], repo, 1)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "lock")
    time.sleep(2.1)  # files older than the cache's racy window, as in any repository not edited this instant
    subprocess.run([prompthooks, "lock"], cwd=repo, check=True)  # warm the cache once
    unchanged = samples_of(runs, lambda _: None, [prompthooks, "lock"], repo, 0)
    uncached = samples_of(max(3, runs // 3), lambda _: None, [prompthooks, "lock", "--no-cache"], repo, 0)
    changed_file = repo / "prompts" / "team00" / "prompt_00000.jinja2"
    original = changed_file.read_text()

    def change_one(run: int) -> None:
        changed_file.write_text(original + f"Extra line {run}.\n")

    one_changed = samples_of(runs, change_one, [prompthooks, "lock"], repo, 1)

    def ratio(samples: list[float]) -> str:
        median = statistics.median(samples)
        return f"{median * 1000:.0f} ms ({median / baseline:.1f}×; best {min(samples) * 1000:.0f} ms)"

    return f"| {size:,} | {ratio(unchanged)} | {ratio(one_changed)} | {ratio(create)} | {ratio(uncached)} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--composed", action="store_true", help="every prompt includes a fragment (dependency tracking on every file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prompthooks-bench-") as root:
        bin_dir = install(Path(root))
        baseline = median_of(args.runs * 2, lambda _: None, [str(bin_dir / "python"), "-c", "pass"], Path.cwd(), 0)
        best = min(samples_of(args.runs * 2, lambda _: None, [str(bin_dir / "python"), "-c", "pass"], Path.cwd(), 0))
        print(f"python -c pass: {baseline * 1000:.1f} ms median, {best * 1000:.1f} ms best of {args.runs * 2}; {os.cpu_count()} cores; Python {sys.version.split()[0]}")
        print()
        print("| prompts | (a) nothing changed | (b) one prompt changed | (c) lock from scratch | (a') nothing changed, --no-cache |")
        print("|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            print(bench_size(Path(root), size, args.runs, baseline, str(bin_dir / "prompthooks"), args.composed), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
