"""What the lock's history costs: four figures, each beside the same work with no history to read.

The repository (``synthetic.build_history``) has N prompts and C commits on ``main``, each
editing one prompt and its lock table; a branch ``feature`` forked 50 commits back (2 commits
of its own), and a pull request ``pr`` of 10 commits on top of ``main``.  It is packed as a
server packs it, then cloned over ``file://`` as CI and developers clone.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.timing import Run, paired, row
from testing import synthetic

FORK_BACK = 50
PR_COMMITS = 10


def _clone(origin: Path, target: Path, *options: str) -> Path:
    synthetic.git(origin.parent, "clone", "-q", *options, f"file://{origin}", str(target))
    return target


def _fresh(repo: Path) -> Run:
    """``prompthooks check`` as CI runs it: nothing under ``.git/prompthooks`` yet."""
    return Run(["check"], repo, 0, lambda: shutil.rmtree(repo / ".git" / "prompthooks", ignore_errors=True))


def _with(run: Run, prompthooks: str) -> Run:
    return run._replace(command=[prompthooks, *run.command])


def figures(root: Path, prompts: int, commits: int, runs: int, bin_dir: Path, registry: bool) -> list[str]:
    """Markdown rows for ``--history``: check on a fresh clone, a branch switch, check --base, and sync/deploy/export."""
    prompthooks = str(bin_dir / "prompthooks")
    origin = root / "origin"
    synthetic.build_history(origin, prompts, commits, fork_back=FORK_BACK, fork_commits=2, pr_commits=PR_COMMITS)
    full, shallow = _clone(origin, root / "full"), _clone(origin, root / "shallow", "--depth", "1")
    rows = [row("`check`, fresh full clone", "depth-1 clone", paired(runs, _with(_fresh(full), prompthooks), _with(_fresh(shallow), prompthooks)), 2.0, 0.5)]

    dev = _clone(origin, root / "dev")
    synthetic.git(dev, "branch", "-q", "feature", "origin/feature")
    main_commit = synthetic.git(dev, "rev-parse", "main").strip()
    edited = dev / synthetic.prompt_path(7)

    def switched() -> None:
        """Warm on main, the branch not seen yet: one prompt edited on it."""
        _lock_at(prompthooks, dev, "main")
        for kept in (dev / ".git" / "prompthooks").glob("history-*"):
            if kept.name != f"history-{main_commit}":
                kept.unlink()
        synthetic.git(dev, "checkout", "-q", "feature")
        edited.write_bytes(edited.read_bytes() + b"One more line.\n")

    def known() -> None:
        """The same edit on the branch, once the hook has seen it: no history to read."""
        _lock_at(prompthooks, dev, "feature")
        edited.write_bytes(edited.read_bytes() + b"One more line.\n")

    switch = paired(runs, Run([prompthooks, "lock"], dev, 1, switched), Run([prompthooks, "lock"], dev, 1, known))
    rows.append(row(f"first commit after switching to a branch forked {FORK_BACK} commits back", "no history to read", switch, 2.0, 0.3))

    pull = _clone(origin, root / "pull-request", "--branch", "pr")
    rows.append(row(f"`check --base origin/main`, fresh clone of a {PR_COMMITS}-commit pull request", "plain `check`", paired(runs, _with(_fresh(pull)._replace(command=["check", "--base", "origin/main"]), prompthooks), _with(_fresh(pull), prompthooks)), 2.0))

    commands = [["export", "--format", "env"]]
    if registry:  # one thread: CPython 3.11 before 3.11.8 can fail building an AST in a thread (gh-106905), in mlflow's imports
        commands += [["sync", "--dry-run", "--jobs", "1"], ["deploy", "--dry-run", "--jobs", "1", "staging"]]
    for command in commands:
        store = ["--tracking-uri", "sqlite:///{}/.git/bench-mlflow.db"] if command[0] != "export" else []
        one, other = (Run([prompthooks, *command, *(part.format(repo) for part in store)], repo, 0) for repo in (full, shallow))
        rows.append(row(f"`{' '.join(command)}`, fresh full clone", "depth-1 clone", paired(runs, one, other), 2.0, 0.5))
    return rows


def _lock_at(prompthooks: str, repo: Path, branch: str) -> None:
    """``branch`` checked out as committed, and the hook run once there (its cache warm)."""
    synthetic.git(repo, "checkout", "-q", "-f", branch)
    synthetic.git(repo, "reset", "-q", "--hard")
    subprocess.run([prompthooks, "lock"], cwd=repo, capture_output=True, check=True)
