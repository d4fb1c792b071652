"""The hook, run in-process as a commit through pre-commit would run it, and what it wrote."""

from __future__ import annotations

import pytest

from prompthooks import lockfile
from prompthooks.main import main
from tests.helpers.repos import GitRepo


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stage_as_told(repo: GitRepo, out: str) -> None:
    """Run the `git add` the fixer printed, as its user would (the lock must be staged to pass)."""
    for line in out.splitlines():
        if "git add " in line:
            repo.git("add", *line.split("git add ", 1)[1].split())


def lock_twice(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> str:
    """Run the fixer, then assert a second run is a no-op on its own output."""
    code, out, _ = run(capsys, "lock")
    assert code == 1
    stage_as_told(repo, out)
    after_first = repo.snapshot()
    assert run(capsys, "lock") == (0, "", "")
    assert repo.snapshot() == after_first
    assert run(capsys, "check") == (0, "", "")
    return out


def write_locked(capsys: pytest.CaptureFixture[str], repo: GitRepo, files: dict[str, str]) -> None:
    """Commit ``files`` with their lock, as the hook leaves them."""
    for path, text in files.items():
        repo.write(path, text)
    repo.git("add", "-A")
    lock_twice(capsys, repo)
    repo.commit()


def hook_commit(capsys: pytest.CaptureFixture[str], repo: GitRepo, message: str = "commit") -> str:
    """What a commit through the hook does: lock, stage what it wrote, and lock again (a no-op)."""
    repo.git("add", "-A")
    code, out, err = run(capsys, "lock")
    assert code in (0, 1), err
    repo.git("add", "-A")
    assert run(capsys, "lock") == (0, "", "")
    assert run(capsys, "check") == (0, "", "")
    repo.commit(message)
    return out


def locked(repo: GitRepo) -> dict[str, tuple[str, str]]:
    return {name: (entry.version, entry.hash) for name, entry in lockfile.parse(repo.read("prompts.lock"), "prompts.lock").items()}
