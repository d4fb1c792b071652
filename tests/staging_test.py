"""The lock must be in git: an untracked or unstaged lock fails `lock` and `check`, with the `git add` that fixes it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from prompthooks.git import clean_environment
from tests.helpers.hook import run
from tests.helpers.repos import GitRepo

UNTRACKED = "prompts.lock: is not tracked by git, so the commit would not record these versions; stage it: git add prompts.lock\n"


def test_an_untracked_lock_fails_until_it_is_added(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "a\n")
    repo.git("add", "-A")
    assert run(capsys, "lock")[0] == 1  # created prompts.lock
    assert run(capsys, "lock") == (1, UNTRACKED, "")
    assert run(capsys, "check") == (1, UNTRACKED, "")
    repo.git("add", "prompts.lock")
    assert run(capsys, "lock") == (0, "", "")
    assert run(capsys, "check") == (0, "", "")


def test_a_lock_staged_with_other_content_fails(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "a\n")
    repo.git("add", "-A")
    run(capsys, "lock")
    repo.git("add", "-A")
    repo.commit()
    repo.write("prompts/a.md", "a, changed\n")
    repo.git("add", "prompts/a.md")
    code, out, _ = run(capsys, "lock")
    assert code == 1 and "git add prompts.lock" in out
    code, out, _ = run(capsys, "check")  # the lock on disk is right, the staged one is stale
    assert (code, out) == (1, "prompts.lock: differs from its staged content, so the commit would not record these versions; stage it: git add prompts.lock\n")


def test_the_hint_is_relative_to_the_current_folder(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("prompts/a.md", "a\n")
    repo.git("add", "-A")
    run(capsys, "lock")
    monkeypatch.chdir(repo.root / "prompts")
    code, out, _ = run(capsys, "check")
    assert (code, out) == (1, UNTRACKED.replace("prompts.lock", "../prompts.lock"))
    subprocess.run(["git", "add", "../prompts.lock"], check=True, cwd=repo.root / "prompts", env=clean_environment())
    assert run(capsys, "check") == (0, "", "")


def test_git_commit_all_through_a_hook_uses_its_temporary_index(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\nexec {sys.executable} -m prompthooks lock\n")
    hook.chmod(0o755)
    repo.write("prompts/a.md", "---\nname: a\n---\na\n")
    repo.git("add", "-A")
    assert run(capsys, "lock")[0] == 1
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "first")  # through the hook: passes
    repo.write("prompts/a.md", "---\nname: a\nversion: 1.0.0\n---\na, changed\n")

    def commit_all() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "commit", "-a", "-q", "-m", "edit"], cwd=repo.root, env=clean_environment(), capture_output=True, text=True)

    first = commit_all()
    assert first.returncode == 1, first.stdout + first.stderr
    assert "a: 1.0.0 -> 1.0.1" in first.stderr  # git shows a hook's output on stderr
    second = commit_all()  # the rewritten lock and front matter are tracked: `commit -a` takes them
    assert second.returncode == 0, second.stdout + second.stderr
    assert repo.git("status", "--porcelain") == ""
    assert run(capsys, "check") == (0, "", "")
