from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from prompthooks.git import clean_environment
from tests.mlflow_server import MlflowServer
from tests.postgres_server import PostgresCluster, bindir

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Prompt Tester")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tester@example.com")
    for variable in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        # mlflow.set_tracking_uri / set_registry_uri also export these: undone after each test, so no test's server leaks into the next
        monkeypatch.setenv(variable, os.environ.get(variable, ""))
        if not os.environ[variable]:
            monkeypatch.delenv(variable)


def init_repo(root: Path) -> GitRepo:
    root.mkdir(parents=True, exist_ok=True)
    repo = GitRepo(root)
    repo.git("init", "-q", "-b", "main")
    return repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """An empty repository that is also the current directory."""
    created = init_repo(tmp_path / "repo")
    monkeypatch.chdir(created.root)
    return created


@pytest.fixture(scope="session")
def sqlite_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One real MLflow server for the session on a sqlite store; tests keep apart by prompt names."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mlflow_server(sqlite_mlflow_server: MlflowServer) -> MlflowServer:
    """The session's sqlite-backed server; use ``registry_server`` to run a test on every backend."""
    return sqlite_mlflow_server


REGISTRY_BACKENDS: Final = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgresql_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One real MLflow server for the session on a throwaway PostgreSQL cluster, with several workers: the production setup."""
    if bindir() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL is not installed here (CI requires it)")
    cluster = PostgresCluster().start()
    try:
        server = MlflowServer(tmp_path_factory.mktemp("mlflow-postgresql"), backend_store_uri=cluster.create_database("mlflow"), workers=4)
        server.start()
        yield server
        server.stop()
    finally:
        cluster.stop()


@pytest.fixture(scope="session", params=REGISTRY_BACKENDS)
def registry_server(request: pytest.FixtureRequest) -> MlflowServer:
    """The session's MLflow server on each backend store in turn: a test using this runs once per backend.

    Each server starts once per session, however the tests are ordered; plain ``mlflow_server`` stays sqlite.
    """
    server: MlflowServer = request.getfixturevalue(f"{request.param}_mlflow_server")
    return server


def counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[Any]:
    """Wrap ``module.name`` for this test; returns the list of the positional arguments of each call."""
    calls: list[Any] = []
    original: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls
