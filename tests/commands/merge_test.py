"""The prompts.lock merge driver, through real `git merge`s."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prompthooks.commands.merge import driver_command
from prompthooks.errors import FatalError
from prompthooks.main import main
from tests.helpers.repos import GitRepo

STRIPPED_PATH = os.pathsep.join(
    folder for folder in os.environ["PATH"].split(os.pathsep) if folder and not os.path.exists(os.path.join(folder, "prompthooks"))
)


@pytest.fixture
def repo_with_driver(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> GitRepo:
    # git finds the driver without prompthooks on PATH: as from pre-commit's environment or an unactivated virtualenv
    monkeypatch.setenv("PATH", STRIPPED_PATH)
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
    env = {**os.environ, "PATH": STRIPPED_PATH}
    assert shutil.which("prompthooks", path=STRIPPED_PATH) is None and shutil.which("git", path=STRIPPED_PATH)
    return subprocess.run(["git", "merge", "--no-edit", branch], cwd=repo.root, capture_output=True, text=True, env=env)


def test_install_is_idempotent(repo_with_driver: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with_driver
    assert repo.read(".gitattributes") == b"prompts.lock merge=prompthooks\n"
    assert repo.git("config", "merge.prompthooks.driver").strip() == f"{shlex.quote(sys.executable)} -m prompthooks merge-lock %O %A %B %P"
    assert main(["install"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "prompthooks: the prompts.lock merge driver is already installed"
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


def test_the_driver_command_survives_sh_quoting(tmp_path: Path) -> None:
    python = tmp_path / "my env" / "bin" / "py'thon"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    command = driver_command(str(python)).replace("%O %A %B %P", "--help")
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
    assert result.returncode == 0 and "merge-lock" in result.stdout


@pytest.mark.parametrize("python", ["", "python3", "/nonexistent/bin/python"])
def test_install_says_plainly_when_it_cannot_name_the_interpreter(python: str) -> None:
    with pytest.raises(FatalError, match="cannot tell which Python runs prompthooks.*set it by hand: git config merge.prompthooks.driver"):
        driver_command(python)
