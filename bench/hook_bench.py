"""Time the prompthooks-lock hook on generated repositories beside Python's own start-up.

    python bench/hook_bench.py [--sizes 100 1000 10000] [--runs 11] [--composed]

It installs prompthooks into a fresh virtual environment (not editable, as
pre-commit installs it), and for each size it builds a git repository of Jinja prompts with front matter,
then times, as pre-commit runs it (the ``prompthooks`` console script):
(a) a run with nothing changed, (b) a run after one prompt changed,
(c) creating the lock from scratch (no lock, no cache: every file parsed and stamped),
(a') the no-change run with ``--no-cache``, to show what the cache buys, and
(d) ``prompthooks check --no-cache`` in a fresh clone (no cache under ``.git``),
as CI runs it on every pull request, beside ``sha256sum`` of the same prompt files
(wall time, and user+sys CPU time, which a busy machine disturbs less).
Each figure is the median wall time of ``--runs`` runs (and the best run, which
a noisy machine disturbs least); ``python -c pass`` is measured in the same run, and so is
``python -c "import jinja2"`` (and PyYAML, semver): the floor of (b).  Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
LIBRARIES = ("jinja2", "yaml", "semver", "jinja2, yaml, semver")
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


def cpu_seconds(runs: int, command: list[str], cwd: Path) -> float:
    """Median user+sys CPU time of ``command`` and its children: what a busy machine's wall time hides."""
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(samples)


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
    changed_file.write_text(original)
    clone = root / f"clone-{size}"
    git(root, "clone", "-q", str(repo), str(clone))
    files = sorted(str(path.relative_to(clone)) for path in (clone / "prompts").rglob("*.j*"))
    cold_runs = max(3, runs // 3)
    hashed = samples_of(cold_runs, lambda _: None, ["sha256sum", *files], clone, 0)
    cold = samples_of(cold_runs, lambda _: None, [prompthooks, "check", "--no-cache"], clone, 0)
    cpu_sha = cpu_seconds(cold_runs, ["sha256sum", *files], clone)
    cpu_cold = cpu_seconds(cold_runs, [prompthooks, "check", "--no-cache"], clone)

    def ratio(samples: list[float], against: float = baseline) -> str:
        median = statistics.median(samples)
        return f"{median * 1000:.0f} ms ({median / against:.1f}×; best {min(samples) * 1000:.0f} ms)"

    sha = statistics.median(hashed)
    return (
        f"| {size:,} | {ratio(unchanged)} | {ratio(one_changed)} | {ratio(create)} | {ratio(uncached)} "
        f"| {sha * 1000:.0f} ms | {ratio(cold, sha)} | {cpu_cold * 1000:.0f} ms ({cpu_cold / cpu_sha:.1f}× of {cpu_sha * 1000:.0f} ms) |"
    )


def main() -> int:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # pre-commit's environments keep bytecode; timing a recompile would mislead
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
        imports = []
        for module in LIBRARIES:  # what a changed file costs before any of our work: the libraries that read it
            cost = median_of(args.runs * 2, lambda _: None, [str(bin_dir / "python"), "-c", f"import {module}"], Path.cwd(), 0) - baseline
            imports.append(f"{module} {cost * 1000:.0f} ms ({cost / baseline:.1f}×)")
        print("importing, beyond start-up: " + ", ".join(imports))
        print()
        print(
            "| prompts | (a) nothing changed | (b) one prompt changed | (c) lock from scratch | (a') nothing changed, --no-cache "
            "| sha256sum of the prompt files | (d) check --no-cache, fresh clone (× sha256sum) | (d) CPU time (× sha256sum's) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            print(bench_size(Path(root), size, args.runs, baseline, str(bin_dir / "prompthooks"), args.composed), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
