from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from prompthooks.main import main
from testing.mlflow_server import MlflowServer
from testing.postgres_server import PostgresCluster, bindir
from tests.helpers.history import BROKEN_LOCKS, build_history
from tests.helpers.repos import PROJECT_ROOT, GitRepo, init_repo

# As prompthooks' registry client does before it imports mlflow. With telemetry on, MLflow's config thread gives up
# (no network here) and deletes an environment variable while other threads iterate os.environ (requests reading
# its proxies): a KeyError in whichever request runs then.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

IGNORED_IN_CHECKOUT: Final = frozenset({".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "prompthooks.egg-info"})


def _checkout_files() -> set[str]:
    found = set()
    for directory, folders, files in os.walk(PROJECT_ROOT):
        folders[:] = [folder for folder in folders if folder not in IGNORED_IN_CHECKOUT]
        found.update(os.path.relpath(os.path.join(directory, name), PROJECT_ROOT) for name in files)
    return found


@pytest.fixture(scope="session", autouse=True)
def _nothing_written_into_the_checkout() -> Iterator[None]:
    """Tests work in temporary folders: a file a test run leaves in the checkout (an ``mlflow.db``, say) fails the run."""
    before = _checkout_files()
    yield
    left = sorted(_checkout_files() - before)
    if left:
        pytest.fail(f"the tests wrote into the checkout: {', '.join(left[:10])}", pytrace=False)


@pytest.fixture(autouse=True)
def _nothing_left_at_the_checkouts_top() -> Iterator[None]:
    """The cheap, per-test half of the check above, so a test that writes ``./mlflow.db`` (MLflow's default store) is named."""
    before = set(os.listdir(PROJECT_ROOT))
    yield
    left = sorted(set(os.listdir(PROJECT_ROOT)) - before - IGNORED_IN_CHECKOUT)
    assert not left, f"this test wrote into the checkout: {', '.join(left)}"


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
    if "mlflow" in sys.modules:  # ... and keep them in module globals, which the environment does not reset
        from mlflow.tracking._model_registry import utils as registry_utils
        from mlflow.tracking._tracking_service import utils as tracking_utils

        monkeypatch.setattr(registry_utils, "_registry_uri", None)
        monkeypatch.setattr(tracking_utils, "_tracking_uri", None)


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """Prompt names unique to the test (module and name), so tests can share one server."""
    module = request.module.__name__.rsplit(".", 1)[-1].removesuffix("_test")
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{module[:8]}_{request.node.name}")[-60:].strip("_")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """An empty repository that is also the current directory."""
    created = init_repo(tmp_path / "repo")
    monkeypatch.chdir(created.root)
    return created


@pytest.fixture(scope="session")
def built_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The five-commit history of ``tests.helpers.history``, built once per session."""
    repo, commits = build_history(tmp_path_factory.mktemp("history") / "repo")
    return repo.root, commits


@pytest.fixture
def history(built_history: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GitRepo, list[str]]:
    """A copy of that history of the test's own (the current directory), with its commits oldest first."""
    root = tmp_path / "repo"
    shutil.copytree(built_history[0], root, symlinks=True)
    monkeypatch.chdir(root)
    return GitRepo(root), list(built_history[1])


@pytest.fixture(scope="session")
def sqlite_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One real MLflow server for the session on a sqlite store; tests keep apart by prompt names."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mlflow_server(request: pytest.FixtureRequest) -> MlflowServer:
    """The session's MLflow server: sqlite, or each backend in turn for a test marked ``every_backend``."""
    backend = getattr(request, "param", "sqlite")
    server: MlflowServer = request.getfixturevalue(f"{backend}_mlflow_server")
    return server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``every_backend`` runs once per registry backend: the race tests, and one end-to-end test per command."""
    if metafunc.definition.get_closest_marker("every_backend") and "mlflow_server" in metafunc.fixturenames:
        metafunc.parametrize("mlflow_server", REGISTRY_BACKENDS, indirect=True, scope="session")


@pytest.fixture(scope="session")
def auth_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One MLflow server for the session with basic auth on (its admin credentials: ``testing.mlflow_server``)."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-auth"), app_name="basic-auth").start()
    yield server
    server.stop()


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


@pytest.fixture(params=sorted(BROKEN_LOCKS))
def broken_history(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GitRepo, list[str]]:
    """a 1.0.0, a 1.0.1, then a lock broken by hand and committed with --no-verify, then repaired, then a 1.0.2."""
    repo = init_repo(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    commits = []
    for body in ("One {{ x }}\n", "Two {{ x }}\n"):
        repo.write("prompts/a.md", body)
        repo.write("prompts/b.md", "Bee\n")
        repo.git("add", "-A")
        main(["lock", "--quiet", "--no-cache"])
        commits.append(repo.commit(body))
    repo.write("prompts.lock", BROKEN_LOCKS[request.param](repo.read("prompts.lock").decode()))
    commits.append(repo.commit("break the lock"))
    repo.git("checkout", commits[1], "--", "prompts.lock")
    commits.append(repo.commit("repair the lock"))
    repo.write("prompts/a.md", "Three {{ x }}\n")
    repo.git("add", "-A")
    assert main(["lock", "--quiet", "--no-cache"]) == 1
    commits.append(repo.commit("three"))
    return repo, commits
