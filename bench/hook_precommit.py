"""The hook's share of a commit, through the real pre-commit framework, beside a trivial hook.

pre-commit installs ``prompthooks-lock`` from a repository holding this project's
working tree, as a user's configuration would (its own virtual environment, not
editable); ``pre-commit run`` is timed with that configuration and with one whose
only hook is ``language: system``, ``entry: "true"``, in turn.  What is left is
what the hook costs a person who commits.  Where one prompt changed, the same commit is timed with the
floor under the hook (``bench/floor_hook.py``, from the same environment) too: what any hook keeping the
lock must spend, so the rest is the hook's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench.timing import Run, paired, row
from testing import synthetic

PROJECT = Path(__file__).resolve().parent.parent
TRUE_HOOK = """repos:
- repo: local
  hooks:
  - id: trivial
    name: trivial
    entry: "true"
    language: system
    pass_filenames: false
    always_run: true
"""


FLOOR_HOOK = """- id: floor
  name: the floor under prompthooks-lock
  entry: python {script}
  language: python
  pass_filenames: false
  always_run: true
  require_serial: true
"""


def project_repository(target: Path) -> str:
    """This project's working tree, committed or not, as a repository pre-commit can clone (with the floor hook); its commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT, env=synthetic.git_environment(), capture_output=True, check=True
    ).stdout.decode()
    for path in filter(None, listed.split("\0")):
        if (PROJECT / path).is_file():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / path, target / path)
    with open(target / ".pre-commit-hooks.yaml", "a") as manifest:
        manifest.write(FLOOR_HOOK.format(script=target / "bench" / "floor_hook.py"))
    synthetic.git(target, "init", "-q", "-b", "main")
    synthetic.git(target, "add", "-A")
    synthetic.git(target, "commit", "-q", "--no-verify", "-m", "snapshot")
    return synthetic.git(target, "rev-parse", "HEAD").strip()


def _locked_repository(repo: Path, size: int, prompthooks: str) -> None:
    repo.mkdir(parents=True)
    synthetic.write_prompts(repo, size)
    synthetic.git(repo, "init", "-q", "-b", "main")
    synthetic.git(repo, "add", "-A")
    subprocess.run([prompthooks, "lock", "--quiet"], cwd=repo, capture_output=True, check=False)
    synthetic.git(repo, "add", "-A")
    synthetic.git(repo, "commit", "-q", "--no-verify", "-m", "prompts")
    synthetic.git(repo, "gc", "-q")  # packed, as a repository is (tens of thousands of loose objects would set off gc at every commit)


def figures(root: Path, sizes: list[int], runs: int, bin_dir: Path) -> list[str]:
    """Markdown rows: nothing changed, and one prompt changed, at each size."""
    project = root / "project"
    commit = project_repository(project)
    env = {**synthetic.git_environment(), "PRE_COMMIT_HOME": str(root / "pre-commit-home")}
    hook_config, true_config, floor_config = root / "prompthooks.yaml", root / "true.yaml", root / "floor.yaml"
    hook_config.write_text(f"repos:\n- repo: {project}\n  rev: {commit}\n  hooks:\n  - id: prompthooks-lock\n")
    floor_config.write_text(f"repos:\n- repo: {project}\n  rev: {commit}\n  hooks:\n  - id: floor\n    args: [{synthetic.prompt_path(0)}]\n")
    true_config.write_text(TRUE_HOOK)
    pre_commit = [str(bin_dir / "python"), "-m", "pre_commit", "run", "--config"]
    rows = []
    for size in sizes:
        repo = root / f"pre-commit-{size}"
        _locked_repository(repo, size, str(bin_dir / "prompthooks"))
        subprocess.run([*pre_commit[:-2], "install-hooks", "--config", str(hook_config)], cwd=repo, env=env, check=True, capture_output=True)
        time.sleep(2.1)  # files older than the cache's racy window, as in any repository not edited this instant
        subprocess.run([*pre_commit, str(hook_config)], cwd=repo, env=env, capture_output=True)  # warm the hook's cache once
        hook, trivial = [*pre_commit, str(hook_config)], [*pre_commit, str(true_config)]
        rows.append(row(f"{size:,} prompts, nothing changed", "`true`", paired(runs, Run(hook, repo, 0, env=env), Run(trivial, repo, 0, env=env)), 1.5))
        changed = repo / synthetic.prompt_path(0)

        def finish(repo: Path = repo, hook: list[str] = hook) -> None:
            """Finish the last commit as a person does: stage what the hook wrote until the hook passes, commit.

            (After the floor, whose lock is not the hook's, the hook writes once more before it passes.)
            """
            for _ in range(3):
                synthetic.git(repo, "add", "-A")
                if subprocess.run(hook, cwd=repo, env=env, capture_output=True, check=False).returncode == 0:
                    break
            synthetic.git(repo, "add", "-A")
            synthetic.git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", "a prompt changed")

        def edit(repo: Path = repo, changed: Path = changed) -> None:
            changed.write_bytes(changed.read_bytes() + f"Extra line {os.urandom(4).hex()}.\n".encode())
            synthetic.git(repo, "add", "-A")

        def commit_then_edit(finish: Callable[[], None] = finish, edit: Callable[[], None] = edit) -> None:
            finish()
            edit()

        one = paired(runs, Run(hook, repo, 1, commit_then_edit, env), Run(trivial, repo, 0, commit_then_edit, env))
        rows.append(row(f"{size:,} prompts, one prompt changed (after the last commit)", "`true`", one, 2.0))
        floor = paired(runs, Run([*pre_commit, str(floor_config)], repo, 1, commit_then_edit, env), Run(trivial, repo, 0, commit_then_edit, env))
        rows.append(row(f"{size:,} prompts, one prompt changed: the floor (`bench/floor_hook.py`)", "`true`", floor, 2.0))
        over_floor = paired(runs, Run(hook, repo, 1, commit_then_edit, env), Run([*pre_commit, str(floor_config)], repo, 1, commit_then_edit, env))
        rows.append(row(f"{size:,} prompts, one prompt changed: the hook against the floor", "floor", over_floor, None))

        def commit_other_then_edit(repo: Path = repo, hook: list[str] = hook, finish: Callable[[], None] = finish, edit: Callable[[], None] = edit) -> None:
            """As above, with a commit that changes no prompt between (most commits of a repository that also holds code)."""
            finish()
            (repo / "notes.txt").write_text(f"note {os.urandom(4).hex()}\n")
            synthetic.git(repo, "add", "-A")
            subprocess.run(hook, cwd=repo, env=env, capture_output=True, check=False)
            synthetic.git(repo, "commit", "-q", "--no-verify", "-m", "no prompt changed")
            edit()

        after_other = paired(runs, Run(hook, repo, 1, commit_other_then_edit, env), Run(trivial, repo, 0, commit_other_then_edit, env))
        rows.append(row(f"{size:,} prompts, one prompt changed after a commit that changed none", "`true`", after_other, 2.0))
    return rows


def install_pre_commit(bin_dir: Path) -> None:
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "pre-commit"], check=True)

