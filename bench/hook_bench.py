"""Time the prompthooks-lock hook on generated repositories beside Python's own start-up, and what history costs it.

    .venv/bin/python bench/hook_bench.py [--sizes 100 1000 10000] [--runs 11] [--composed]
    .venv/bin/python bench/hook_bench.py --pre-commit [--sizes 1000 10000] [--runs 11]
    .venv/bin/python bench/hook_bench.py --history 5000 --prompts 1000 [--runs 5] [--registry]

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

``--pre-commit`` times (a) and (b) through the real pre-commit framework instead, beside a
trivial ``language: system`` hook (``bench/hook_precommit.py``).  ``--history C --prompts N``
prints the figures of the lock's history on a repository of C commits (``bench/hook_history.py``);
``--registry`` adds ``sync`` and ``deploy`` (mlflow is installed for them).  Those two modes print
each figure beside its baseline, run in turn, with the median of their run-by-run ratios.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import hook_history, hook_precommit  # noqa: E402
from bench.timing import median_of, samples_of  # noqa: E402
from testing import synthetic  # noqa: E402
from testing.synthetic import git  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
LIBRARIES = ("jinja2", "yaml", "semver", "jinja2, yaml, semver")


def cpu_seconds(runs: int, command: list[str], cwd: Path) -> float:
    """Median user+sys CPU time of ``command`` and its children: what a busy machine's wall time hides."""
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(samples)


def build(root: Path, size: int, composed: bool = False) -> Path:
    repo = root / f"repo-{size}"
    synthetic.write_prompts(repo, size, composed)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "prompts")
    return repo


def install(root: Path, extras: str = "") -> Path:
    """A virtual environment with prompthooks installed as pre-commit would; returns its bin folder."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{PROJECT}{extras}"], check=True)
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
    parser.add_argument("--pre-commit", action="store_true", help="time (a) and (b) through pre-commit, beside a trivial hook")
    parser.add_argument("--history", type=int, metavar="COMMITS", help="time what a lock history of COMMITS commits costs")
    parser.add_argument("--prompts", type=int, default=1000, help="with --history: prompts in the repository")
    parser.add_argument("--registry", action="store_true", help="with --history: time sync and deploy too (installs mlflow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prompthooks-bench-") as root:
        bin_dir = install(Path(root), "[mlflow]" if args.registry else "")
        if args.history or args.pre_commit:
            return _paired_figures(args, Path(root), bin_dir)
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


def _paired_figures(args: argparse.Namespace, root: Path, bin_dir: Path) -> int:
    print(f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; load average {', '.join(f'{load:.2f}' for load in os.getloadavg())} before")
    print()
    print("| figure | measured (median) | baseline (median) | ratio, wall (CPU) (medians of pairs) | goal (wall), or the median difference |")
    print("|---|---:|---:|---:|---|")
    if args.pre_commit:
        hook_precommit.install_pre_commit(bin_dir)
        rows = hook_precommit.figures(root, args.sizes, args.runs, bin_dir)
    else:
        rows = hook_history.figures(root, args.prompts, args.history, args.runs, bin_dir, args.registry)
    print("\n".join(rows))
    print()
    print(f"load average {', '.join(f'{load:.2f}' for load in os.getloadavg())} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
