"""Sync under concurrency, attacked against a real MLflow server.  Every test here FAILS today."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from testing.counting_proxy import CountingProxy, Fault
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.deploying import edit, run
from tests.helpers.registry import make_repo, versions


def test_concurrent_syncs_of_two_branches_never_give_one_semver_two_contents(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    """Branches a and b each bumped the prompt to 1.0.1 with other text (a PR preview deploy and main's sync, say).
    Synced one after the other, the second is a conflict.  Synced at once, both list, neither finds 1.0.1, both register
    it: the concurrency check only removes duplicates of the *same* hash, so both exit 0, the registry holds 1.0.1 twice
    with two contents, and every later sync of b says "skipped" (it looks only at the lowest number)."""
    uri = mlflow_server.uri
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    name = f"{prefix}_0"
    assert run(repo, uri, "sync").returncode == 0
    repo.git("checkout", "-q", "-b", "a")
    edit(repo, prefix, 0, "branch a")
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "b")
    edit(repo, prefix, 0, "branch b")
    proxy = CountingProxy(mlflow_server.port)
    proxy.faults.append(Fault(lambda m, p, b: m == "POST" and "model-versions/create" in p, delay=5.0, times=1))
    try:
        first = subprocess.Popen([cli.PROMPTHOOKS, "sync", "--ref", "a", "--tracking-uri", proxy.uri], cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while not proxy.applied and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proxy.applied, "sync a never reached its registration"
        second = run(repo, uri, "sync", "--ref", "b")
        first.communicate(timeout=120)
    finally:
        proxy.close()
    hashes = {str(version["prompthooks_hash"]) for version in versions(uri, name) if version.get("prompthooks_version") == "1.0.1"}
    assert len(hashes) == 1, f"1.0.1 names {len(hashes)} contents; exit codes {first.returncode} and {second.returncode}"
