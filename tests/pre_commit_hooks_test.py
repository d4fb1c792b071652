"""The published hooks, driven end to end through the real pre-commit framework."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from prompthooks.git import clean_environment
from tests.helpers.repos import PROJECT_ROOT, GitRepo, init_repo

HOOKS = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text())


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="session")
def project_snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This project's working tree (committed or not) as a repository pre-commit can clone."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT, env=clean_environment(), capture_output=True, check=True,
    ).stdout.decode().split("\0")
    snapshot = init_repo(tmp_path_factory.mktemp("project") / "prompthooks")
    for path in filter(None, listed):
        source = PROJECT_ROOT / path
        if source.is_file():
            target = snapshot.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return snapshot.root, snapshot.commit("snapshot")


def pre_commit(repo: GitRepo, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**clean_environment(), "PRE_COMMIT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo.root, env=env, capture_output=True, text=True)


def git_commit(repo: GitRepo, home: Path) -> subprocess.CompletedProcess[str]:
    """A real ``git commit`` running the installed hooks; their output (git sends it to stderr) in ``stdout``."""
    env = {**clean_environment(), "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        ["git", "commit", "-m", "prompt change"], cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_manifest_declares_the_hooks_as_whole_repo_runs() -> None:
    assert [hook["id"] for hook in HOOKS] == ["prompthooks-lock", "prompthooks-check", "prompthooks-install"]
    for hook in HOOKS:
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        assert hook["always_run"] is True
        assert hook["require_serial"] is True
        assert hook["minimum_pre_commit_version"]


def test_every_hook_is_documented_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for hook in HOOKS:
        assert f"id: {hook['id']}" in readme


def test_try_repo_against_the_working_tree(repo: GitRepo, pre_commit_home: Path) -> None:
    repo.write("prompts/assistant.md", "---\nname: assistant\n---\nHello {{ name }}\n")
    repo.git("add", "-A")
    first = pre_commit(repo, pre_commit_home, "try-repo", str(PROJECT_ROOT), "prompthooks-lock", "--all-files")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "assistant: new 1.0.0 (initial version, prompts/assistant.md)" in first.stdout
    assert "Failed" in first.stdout
    assert (repo.root / "prompts.lock").exists()
    repo.git("add", "-A")
    second = pre_commit(repo, pre_commit_home, "try-repo", str(PROJECT_ROOT), "prompthooks-check", "--all-files")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Passed" in second.stdout


def test_git_commit_fails_once_with_the_lock_written_then_passes(
    repo: GitRepo, pre_commit_home: Path, project_snapshot: tuple[Path, str]
) -> None:
    project, rev = project_snapshot
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n- repo: {project}\n  rev: {rev}\n  hooks:\n  - id: prompthooks-lock\n  - id: prompthooks-check\n",
    )
    repo.write("prompts/assistant.jinja2", "{#\nname: assistant\nbump: minor\n#}\nHi {{ user }}\n")
    repo.git("add", "-A")
    installed = pre_commit(repo, pre_commit_home, "install")
    assert installed.returncode == 0, installed.stderr

    first = git_commit(repo, pre_commit_home)
    assert first.returncode != 0
    assert "assistant: new 1.0.0" in first.stdout
    assert "files were modified by this hook" in first.stdout
    assert repo.git("rev-parse", "--verify", "-q", "HEAD", check=False) == ""  # nothing committed yet

    repo.git("add", "-A")
    second = git_commit(repo, pre_commit_home)
    assert second.returncode == 0, second.stdout + second.stderr
    committed = repo.git("show", "HEAD:prompts.lock")
    assert '[prompts.assistant]\npath = "prompts/assistant.jinja2"\nversion = "1.0.0"' in committed
    assert repo.git("status", "--porcelain") == ""

    # a change with `bump: major` goes through the same two-step dance
    repo.write("prompts/assistant.jinja2", repo.read("prompts/assistant.jinja2").replace(b"#}", b"bump: major\n#}") + b"Be brief.\n")
    repo.git("add", "-A")
    third = git_commit(repo, pre_commit_home)
    assert third.returncode != 0
    assert "assistant: 1.0.0 -> 2.0.0 (major, bump: major in front matter, prompts/assistant.jinja2)" in third.stdout
    repo.git("add", "-A")
    assert git_commit(repo, pre_commit_home).returncode == 0
    assert 'version = "2.0.0"' in repo.git("show", "HEAD:prompts.lock")


def test_hook_stages_are_pre_commit_3_2_names() -> None:
    stages = {hook["id"]: hook["stages"] for hook in HOOKS}
    assert stages["prompthooks-lock"] == ["pre-commit", "pre-merge-commit", "manual"]  # a fixer never runs at pre-push
    assert stages["prompthooks-install"] == ["manual"]
    from pre_commit.clientlib import STAGES  # the names pre-commit accepts (3.2.0 renamed "commit" to "pre-commit")

    assert all(stage in STAGES for hook in HOOKS for stage in hook["stages"])


def test_lock_never_runs_at_pre_push_and_the_driver_installs_from_pre_commit(
    repo: GitRepo, pre_commit_home: Path, project_snapshot: tuple[Path, str]
) -> None:
    project, rev = project_snapshot
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n- repo: {project}\n  rev: {rev}\n  hooks:\n  - id: prompthooks-lock\n  - id: prompthooks-check\n"
        "  - id: prompthooks-install\n",
    )
    repo.write("prompts/a.md", "Alpha {{ x }}\n")
    repo.git("add", "-A")
    before = repo.snapshot()

    pushed = pre_commit(repo, pre_commit_home, "run", "--hook-stage", "pre-push", "--all-files")
    assert "lock prompt versions" not in pushed.stdout, pushed.stdout
    assert "check prompt versions" in pushed.stdout and pushed.returncode == 1  # the lock is missing: check says so
    assert repo.snapshot() == before  # nothing was written at pre-push

    committed = pre_commit(repo, pre_commit_home, "run", "--hook-stage", "pre-commit", "prompthooks-lock", "--all-files")
    assert committed.returncode == 1 and "a: new 1.0.0" in committed.stdout
    assert "install the prompts.lock merge driver" not in committed.stdout  # manual only

    installed = pre_commit(repo, pre_commit_home, "run", "--hook-stage", "manual", "prompthooks-install")
    assert "install the prompts.lock merge driver" in installed.stdout, installed.stdout + installed.stderr
    driver = repo.git("config", "merge.prompthooks.driver").strip()
    assert driver.startswith(f"{pre_commit_home}/") and driver.endswith(" -m prompthooks merge-lock %O %A %B %P"), driver
    repo.commit("base")

    # A merge that needs the driver (both branches add a prompt: the lock conflicts textually), without prompthooks on PATH.
    stripped = os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if d and not os.path.exists(os.path.join(d, "prompthooks")))
    env = {**clean_environment(), "PATH": stripped}
    repo.git("checkout", "-q", "-b", "left")
    repo.write("prompts/b.md", "Bravo\n")
    repo.git("add", "-A")
    subprocess.run([sys.executable, "-m", "prompthooks", "lock", "--quiet"], cwd=repo.root, env=clean_environment(), check=False)
    repo.commit("add b")
    repo.git("checkout", "-q", "main")
    repo.write("prompts/c.md", "Charlie\n")
    repo.git("add", "-A")
    subprocess.run([sys.executable, "-m", "prompthooks", "lock", "--quiet"], cwd=repo.root, env=clean_environment(), check=False)
    repo.commit("add c")
    merged = subprocess.run(["git", "merge", "--no-edit", "left"], cwd=repo.root, env=env, capture_output=True, text=True)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    lock = repo.read("prompts.lock").decode()
    assert all(f"[prompts.{name}]" in lock for name in "abc") and "<<<<<<<" not in lock
