"""Deploy operations under failures, races and neighbours, against a real server behind a fault-injecting proxy.

Each test is one finding of issue #20: it failed before the fix.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from testing.counting_proxy import CountingProxy, Fault
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.deploying import NO_RETRIES, aliases, edit, records, run
from tests.helpers.registry import make_repo


@pytest.fixture
def proxy(mlflow_server: MlflowServer) -> Iterator[CountingProxy]:
    found = CountingProxy(mlflow_server.port)
    yield found
    found.close()


def alias_write(alias: str) -> Fault:
    """A fault on the requests that set or remove ``alias``."""

    def matches(method: str, path: str, body: bytes) -> bool:
        if "registered-models/alias" not in path:
            return False
        if method == "POST":
            return json.loads(body or b"{}").get("alias") == alias
        return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("alias") == [alias]

    return Fault(matches)


def test_a_variant_never_touches_another_environment(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    uri = mlflow_server.uri
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    name = f"{prefix}_0"
    assert run(repo, uri, "deploy", "p").returncode == 0
    assert run(repo, uri, "deploy", "p-eu").returncode == 0
    edit(repo, prefix, 0, "number zero, again.")
    assert run(repo, uri, "deploy", "p", "--variant", "b", "--weight", "10").returncode == 0
    eu = run(repo, uri, "deploy", "p", "--variant", "eu", "--weight", "10")  # the alias p--eu, never p-eu
    assert eu.returncode == 0, eu.stderr
    assert aliases(uri, name) == {"p": 1, "p-eu": 1, "p--b": 2, "p--eu": 2}
    ended = run(repo, uri, "deploy", "p", "--end-split")
    assert ended.returncode == 0, ended.stderr
    assert "p-eu" not in ended.stdout
    assert aliases(uri, name) == {"p": 1, "p-eu": 1}
    assert run(repo, uri, "status", "p-eu").returncode == 0


def test_a_failed_deploy_is_recorded_failed_and_rollback_returns_to_the_last_good_state(
    tmp_path: Path, prefix: str, mlflow_server: MlflowServer, proxy: CountingProxy
) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=3)
    first = repo.git("rev-parse", "HEAD").strip()
    edit(repo, prefix, 0, "number zero, second.")
    edit(repo, prefix, 1, "number one, second.")
    assert run(repo, mlflow_server.uri, "deploy", "i", "--ref", first).returncode == 0
    assert run(repo, mlflow_server.uri, "deploy", "i").returncode == 0  # main: p0 and p1 at 1.0.1
    edit(repo, prefix, 0, "number zero, third.")
    edit(repo, prefix, 1, "number one, third.")
    proxy.faults.append(alias_write("i")._replace(matches=lambda m, p, b: alias_write("i").matches(m, p, b) and f"{prefix}_1".encode() in b, status=500))
    failed = run(repo, proxy.uri, "deploy", "i", "--jobs", "1", env=NO_RETRIES)
    assert failed.returncode == 4, failed.stderr
    last = failed.stderr.strip().splitlines()[-1]
    assert "i is partly moved: 1 of 2 alias move(s) made" in last and "`prompthooks rollback i`" in last, last
    newest, good, *_ = records(mlflow_server.uri, "i")
    assert newest["status"] == "FAILED" and good["status"] == "READY"
    assert json.loads(newest["prompthooks_done_1"]) == [[f"{prefix}_0", "i", 2, 3]]
    assert not [record for record in records(mlflow_server.uri, "i") if record["status"] == "PENDING"]

    back = run(repo, mlflow_server.uri, "rollback", "i")
    assert back.returncode == 0, back.stderr
    assert [aliases(mlflow_server.uri, f"{prefix}_{i}")["i"] for i in range(3)] == [2, 2, 1]  # main's versions, not main~1's
    assert run(repo, mlflow_server.uri, "status", "i").returncode == 0


def test_rollback_over_a_split_ends_it_then_moves_the_main_arm_back(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    uri = mlflow_server.uri
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    name = f"{prefix}_0"
    older = repo.git("rev-parse", "HEAD").strip()
    edit(repo, prefix, 0, "number zero, main.")
    assert run(repo, uri, "deploy", "d", "--ref", older).returncode == 0
    assert run(repo, uri, "deploy", "d").returncode == 0
    edit(repo, prefix, 0, "number zero, candidate.")
    assert run(repo, uri, "deploy", "d", "--variant", "b", "--weight", "20").returncode == 0
    assert aliases(uri, name) == {"d": 2, "d--b": 3}

    first = run(repo, uri, "rollback", "d")
    assert first.returncode == 0, first.stderr
    assert aliases(uri, name) == {"d": 2}  # the split ended, the main arm as it was
    assert "prompthooks_split_d" not in MlflowClient(tracking_uri=uri).get_prompt(name).tags
    second = run(repo, uri, "rollback", "d")
    assert second.returncode == 0, second.stderr
    assert aliases(uri, name) == {"d": 1}  # further back, never forth to the split again
    assert [record["prompthooks_reason"] for record in records(uri, "d")] == ["rollback", "rollback", "split", "deploy", "deploy"]
    nothing = run(repo, uri, "rollback", "d")
    assert nothing.returncode == 1 and "is the first of d" in nothing.stderr
    assert run(repo, uri, "status", "d").returncode == 0


def test_concurrent_deploys_are_serialized_and_the_records_match_what_is_served(
    tmp_path: Path, prefix: str, mlflow_server: MlflowServer, proxy: CountingProxy
) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=2)
    older = repo.git("rev-parse", "HEAD").strip()
    edit(repo, prefix, 0, "number zero, newer.")
    newer = edit(repo, prefix, 1, "number one, newer.")
    for ref in (older, newer):  # in order: a deploy never registers an old version on top of @latest
        assert cli.run(repo.root, "sync", "--ref", ref, "--tracking-uri", mlflow_server.uri).returncode == 0
    proxy.faults.append(Fault(lambda method, path, body: "registered-models/alias" in path and method == "POST", delay=4.0))
    slow = subprocess.Popen(
        [cli.PROMPTHOOKS, "deploy", "c", "--ref", older, "--tracking-uri", proxy.uri], cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not proxy.applied and time.monotonic() < deadline:  # A is moving aliases, holding the lease
        time.sleep(0.1)
    assert proxy.applied, "the slow deploy never reached its alias writes"
    fast = run(repo, mlflow_server.uri, "deploy", "c", "--ref", newer)
    out, err = slow.communicate(timeout=120)
    assert slow.returncode == 0, err
    assert fast.returncode == 0, fast.stderr
    assert "waiting for" in fast.stderr  # B waited for A's lease instead of interleaving
    newest = records(mlflow_server.uri, "c")[0]
    assert newest["status"] == "READY" and newest["mlflow.source.git.commit"] == newer  # B ran last
    served = json.loads(newest["prompthooks_prompts_1"])
    assert {name: semver for name, (semver, _) in served.items()} == {f"{prefix}_0": "1.0.1", f"{prefix}_1": "1.0.1"}
    assert {name: aliases(mlflow_server.uri, name)["c"] for name in served} == {name: number for name, (_, number) in served.items()}
    assert run(repo, mlflow_server.uri, "status", "c").returncode == 0
    assert run(repo, mlflow_server.uri, "export", "--env", "c", "--format", "env").returncode == 0


def test_a_crashed_runs_lease_expires(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    client = MlflowClient(tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri)
    client.create_registered_model("prompthooks-lease.x", tags={"prompthooks_lease_holder": "ci-7 pid 1", "prompthooks_lease_expires": str(int(time.time()) - 1)})
    taken = run(repo, mlflow_server.uri, "deploy", "x")
    assert taken.returncode == 0, taken.stderr
    assert "taking over the lease on x of ci-7 pid 1, expired" in taken.stderr
    client.create_registered_model("prompthooks-lease.x", tags={"prompthooks_lease_holder": "ci-8 pid 2", "prompthooks_lease_expires": str(int(time.time()) + 3600)})
    busy = run(repo, mlflow_server.uri, "deploy", "x", "--timeout", "2")
    assert busy.returncode == 1 and "ci-8 pid 2 is changing x" in busy.stderr, busy.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "V1"], "reserved by MLflow"),
        (["deploy", "LATEST"], "reserved by MLflow"),
        (["deploy", "e" * 240], "too long"),
        (["deploy", "a--b"], "separates an environment from its A/B variants"),
        (["deploy", "p", "--variant", "x" * 254, "--weight", "5"], "longer than MLflow's 255"),
        (["rollback", "v2"], "reserved by MLflow"),
    ],
)
def test_names_mlflow_would_refuse_are_refused_before_any_request(
    tmp_path: Path, prefix: str, proxy: CountingProxy, args: list[str], message: str
) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    result = run(repo, proxy.uri, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert proxy.take() == 0


def test_no_record_stays_pending_when_a_run_is_interrupted_by_the_server_going_away(
    tmp_path: Path, prefix: str, mlflow_server: MlflowServer, proxy: CountingProxy
) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=2)
    proxy.faults.append(Fault(lambda method, path, body: "registered-models/alias" in path, status=503))
    failed = run(repo, proxy.uri, "deploy", "z", env=NO_RETRIES)
    assert failed.returncode == 4
    assert "nothing moved" in failed.stderr
    [record] = records(mlflow_server.uri, "z")
    assert record["status"] == "FAILED"


def test_a_second_deploy_of_the_served_ref_repairs_records_left_by_an_interrupted_run(
    tmp_path: Path, prefix: str, mlflow_server: MlflowServer, proxy: CountingProxy
) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=2)
    assert run(repo, mlflow_server.uri, "deploy", "r").returncode == 0
    edit(repo, prefix, 0, "number zero, changed.")
    proxy.faults.append(Fault(lambda method, path, body: "registered-models/alias" in path, status=503))
    assert run(repo, proxy.uri, "deploy", "r", env=NO_RETRIES).returncode == 4
    repo.git("checkout", "-q", "HEAD~1")
    repaired = run(repo, mlflow_server.uri, "deploy", "r")
    assert repaired.returncode == 0, repaired.stderr
    newest = records(mlflow_server.uri, "r")[0]
    assert newest["status"] == "READY"
    assert run(repo, mlflow_server.uri, "status", "r").returncode == 0


def test_a_split_waits_for_an_interrupted_run_to_be_repaired(tmp_path: Path, prefix: str, mlflow_server: MlflowServer, proxy: CountingProxy) -> None:
    """A split records what the main arm serves as the last record says: after an interrupted run that is not true."""
    repo = make_repo(tmp_path / "repo", prefix, count=2)
    assert run(repo, mlflow_server.uri, "deploy", "s").returncode == 0
    edit(repo, prefix, 0, "number zero, changed.")
    edit(repo, prefix, 1, "number one, changed.")
    proxy.faults.append(alias_write("s")._replace(matches=lambda m, p, b: alias_write("s").matches(m, p, b) and f"{prefix}_1".encode() in b, status=500))
    assert run(repo, proxy.uri, "deploy", "s", "--jobs", "1", env=NO_RETRIES).returncode == 4  # p0 moved, p1 not
    refused = run(repo, mlflow_server.uri, "deploy", "s", "--variant", "b", "--weight", "10")
    assert refused.returncode == 1
    assert "so s may be partly moved; repair it first with `prompthooks rollback s`" in refused.stderr
    assert run(repo, mlflow_server.uri, "deploy", "s").returncode == 0  # the repair
    assert run(repo, mlflow_server.uri, "status", "s").returncode == 0
