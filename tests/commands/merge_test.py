"""The prompts.lock merge driver, through real `git merge`s."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prompthooks.main import main
from tests.conftest import GitRepo


@pytest.fixture
def repo_with_driver(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> GitRepo:
    # git runs the driver by name, as it would from an activated virtualenv
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    repo.write("prompts/a.md", "Alpha {{ x }}\n")
    repo.write("prompts/b.md", "Bravo {{ x }}\n")
    repo.git("add", "-A")
    assert main(["lock"]) == 1
    assert main(["install"]) == 0
    repo.commit("base")
    capsys.readouterr()
    return repo


def _lock_and_commit(repo: GitRepo, message: str) -> None:
    repo.git("add", "-A")
    main(["lock", "--quiet"])
    repo.commit(message)


def _merge(repo: GitRepo, branch: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "merge", "--no-edit", branch], cwd=repo.root, capture_output=True, text=True)


def test_install_is_idempotent(repo_with_driver: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with_driver
    assert repo.read(".gitattributes") == b"prompts.lock merge=prompthooks\n"
    assert repo.git("config", "merge.prompthooks.driver").strip() == "prompthooks merge-lock %O %A %B %P"
    assert main(["install"]) == 0
    assert capsys.readouterr().out == "prompthooks: the prompts.lock merge driver is already installed\n"
    assert repo.read(".gitattributes") == b"prompts.lock merge=prompthooks\n"


def test_prompts_added_on_both_branches_merge_cleanly(repo_with_driver: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with_driver
    repo.git("checkout", "-q", "-b", "left")
    repo.write("prompts/c.md", "Charlie\n")
    repo.write("prompts/a.md", "Alpha {{ x }} changed\n")
    _lock_and_commit(repo, "add c, change a")
    repo.git("checkout", "-q", "main")
    repo.write("prompts/d.md", "Delta\n")
    _lock_and_commit(repo, "add d")
    merged = _merge(repo, "left")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    lock = repo.read("prompts.lock").decode()
    assert all(f"[prompts.{name}]" in lock for name in "abcd")
    assert "<<<<<<<" not in lock
    assert main(["check"]) == 0
    assert 'version = "1.0.1"' in lock.split("[prompts.a]")[1].split("[prompts.b]")[0]


def test_both_branches_bumping_one_prompt_stop_for_a_recompute(repo_with_driver: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with_driver
    repo.git("checkout", "-q", "-b", "left")
    repo.write("prompts/a.md", "Intro\nAlpha {{ x }}\n")
    _lock_and_commit(repo, "left edit")  # a 1.0.1
    repo.git("checkout", "-q", "main")
    repo.write("prompts/a.md", "Alpha {{ x }}\nOutro\n")
    _lock_and_commit(repo, "main edit")  # a 1.0.1 with other content
    repo.write("prompts/a.md", "Alpha {{ x }}\nOutro, reworded\n")
    _lock_and_commit(repo, "main edit again")  # a 1.0.2
    merged = _merge(repo, "left")
    assert merged.returncode != 0
    assert "a: changed on both branches (1.0.2 and 1.0.1); `prompthooks lock` recomputes it from the merged file" in merged.stderr
    assert repo.read("prompts/a.md") == b"Intro\nAlpha {{ x }}\nOutro, reworded\n"  # git merged the prompt itself
    assert main(["lock"]) == 1
    assert "a: 1.0.2 -> 1.0.3 (patch, prompts/a.md)" in capsys.readouterr().out  # above both parents
    repo.git("add", "-A")
    assert main(["check"]) == 0
    repo.git("commit", "-q", "--no-edit", "--no-verify")
    assert len(repo.git("log", "-1", "--format=%P").split()) == 2


def test_the_same_version_for_different_content_is_a_real_conflict(repo_with_driver: GitRepo) -> None:
    repo = repo_with_driver
    repo.git("checkout", "-q", "-b", "left")
    repo.write("prompts/b.md", "Bravo {{ x }} from the left\n")
    _lock_and_commit(repo, "left")
    repo.git("checkout", "-q", "main")
    repo.write("prompts/b.md", "Bravo {{ x }}\n\nfrom main\n")
    _lock_and_commit(repo, "main")
    merged = _merge(repo, "left")
    assert merged.returncode != 0
    assert "prompts.lock: conflict: b: both branches produced 1.0.1 with different content" in merged.stderr
