from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prompthooks.main import main
from tests.helpers.repos import GitRepo

HOUR_AGO = time.time() - 3600


def _age(repo: GitRepo) -> None:
    """Make every file look untouched for an hour, as in a repository nobody is editing."""
    for path in repo.root.rglob("*"):
        if ".git" not in path.relative_to(repo.root).parts and path.is_file():
            os.utime(path, (HOUR_AGO, HOUR_AGO))


def _fast_path_taken(repo: GitRepo) -> bool:
    code = "import sys; from prompthooks.main import main; code = main(['lock']); print(code, 'prompthooks.workspace' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=True)
    code_text, evaluated = result.stdout.split()
    assert code_text == "0"
    return evaluated == "False"


@pytest.fixture
def locked(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> GitRepo:
    repo.write("prompts/a.md", "---\nname: a\n---\nHello\n")
    repo.git("add", "-A")
    assert main(["lock"]) == 1
    repo.commit()
    _age(repo)
    capsys.readouterr()
    return repo


def test_unchanged_repository_is_answered_from_the_fingerprint(locked: GitRepo) -> None:
    assert not _fast_path_taken(locked)  # the first clean run records the fingerprint
    assert _fast_path_taken(locked)
    assert (locked.root / ".git" / "prompthooks" / "clean").exists()


def test_a_change_with_the_same_size_and_mtime_is_still_seen(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lock"]) == 0
    assert main(["lock"]) == 0
    path = locked.root / "prompts" / "a.md"
    path.write_bytes(path.read_bytes().replace(b"Hello", b"Howdy"))
    os.utime(path, (HOUR_AGO, HOUR_AGO))
    assert main(["lock"]) == 1  # the inode change time moved, so the stat key did too
    assert "a: 1.0.0 -> 1.0.1 (patch, prompts/a.md)" in capsys.readouterr().out


def test_recently_modified_files_are_not_trusted_by_stat(locked: GitRepo) -> None:
    path = locked.root / "prompts" / "a.md"
    path.write_bytes(path.read_bytes())  # fresh mtime: inside the racy window
    assert main(["lock"]) == 0
    assert not (locked.root / ".git" / "prompthooks" / "clean").exists()


@pytest.mark.parametrize("name", ["clean", "records"])
def test_a_corrupt_cache_is_ignored(locked: GitRepo, capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert main(["lock"]) == 0
    cache = locked.root / ".git" / "prompthooks" / name
    cache.write_bytes(b"\x00garbage")
    assert main(["lock"]) == 0
    locked.write("prompts/a.md", locked.read("prompts/a.md") + b"more\n")
    assert main(["lock"]) == 1


def test_no_cache_flag_writes_nothing_under_git(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "a\n")
    repo.git("add", "-A")
    assert main(["lock", "--no-cache"]) == 1
    repo.git("add", "-A")
    assert main(["check", "--no-cache"]) == 0
    assert not Path(repo.root / ".git" / "prompthooks").exists()
