"""Real git repositories in temporary folders, and a call counter."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest

from prompthooks.git import clean_environment

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent.parent


class GitRepo:
    """A real git repository in a temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["git", *args], cwd=self.root, env=clean_environment(), capture_output=True, text=True, check=check
        )
        return result.stdout

    def write(self, path: str, content: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        return target

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()

    def commit(self, message: str = "commit") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "--no-gpg-sign", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def snapshot(self) -> dict[str, bytes]:
        """Every file outside .git, with its bytes."""
        return {
            str(path.relative_to(self.root)): path.read_bytes() if not path.is_symlink() else os.readlink(path).encode()
            for path in sorted(self.root.rglob("*"))
            if ".git" not in path.relative_to(self.root).parts and (path.is_file() or path.is_symlink())
        }


def init_repo(root: Path) -> GitRepo:
    root.mkdir(parents=True, exist_ok=True)
    repo = GitRepo(root)
    repo.git("init", "-q", "-b", "main")
    return repo


def counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[Any]:
    """Wrap ``module.name`` for this test; returns the list of the positional arguments of each call."""
    calls: list[Any] = []
    original: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls
