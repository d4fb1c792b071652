"""`prompthooks deploy` and `rollback` against a real MLflow server, checked through MLflow's own client."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from testing.counting_proxy import CountingProxy
from testing.mlflow_server import MlflowServer, free_port
from tests.helpers import cli
from tests.helpers.cli import PROMPTHOOKS
from tests.helpers.registry import lock_and_commit, make_repo
from tests.helpers.repos import GitRepo

EXPERIMENT = "llmops-prompts"


def run(repo: GitRepo, command: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli.run(repo.root, command, *args, env=env)


def deploy(repo: GitRepo, uri: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = run(repo, "deploy", *args, "--tracking-uri", uri, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def served(uri: str, name: str, alias: str) -> tuple[str, str]:
    """What an application gets from MLflow's own loader: (prompthooks_version tag, template)."""
    mlflow.set_registry_uri(uri)
    mlflow.set_tracking_uri(uri)
    version = mlflow.genai.load_prompt(f"prompts:/{name}@{alias}", cache_ttl_seconds=0)
    return version.tags["prompthooks_version"], str(version.template)


def has_alias(uri: str, name: str, alias: str) -> bool:
    return alias in MlflowClient(tracking_uri=uri).get_prompt_version(name, 1).aliases or any(
        alias in (MlflowClient(tracking_uri=uri).get_prompt_version(name, v.version).aliases or [])
        for v in MlflowClient(tracking_uri=uri).search_model_versions(f"name = '{name}' AND tag.`mlflow.prompt.is_prompt` = 'true'")
    )


def records(uri: str, environment: str) -> list[mlflow.entities.LoggedModel]:
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    return list(
        client.search_logged_models(
            [experiment.experiment_id], filter_string=f"tags.prompthooks_environment = '{environment}'", order_by=[{"field_name": "creation_time", "ascending": False}]
        )
    )


def edit(repo: GitRepo, index: int, text: str) -> str:
    path = f"prompts/p{index}.md"
    repo.write(path, repo.read(path).replace(f"number {index}.".encode(), text.encode()))
    return lock_and_commit(repo, f"edit p{index}")


@pytest.mark.every_backend
def test_deploy_serves_the_locked_versions_and_a_second_deploy_moves_nothing(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix)
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "4242"}
    env_name = f"prod_{prefix[-20:]}"
    first = deploy(repo, mlflow_server.uri, env_name, env=env)
    assert first.returncode == 0, first.stderr
    for i in range(3):
        assert served(mlflow_server.uri, f"{prefix}_{i}", env_name) == ("1.0.0", f"Say hello to {{{{ person }}}} number {i}.\n")
    assert f"{prefix}_0@{env_name}: (none) -> 1.0.0 (MLflow version 1)" in first.stdout
    [record] = records(mlflow_server.uri, env_name)
    head = repo.git("rev-parse", "HEAD").strip()
    assert record.status.name == "READY"
    assert record.tags["mlflow.source.git.commit"] == head
    assert record.tags["prompthooks_ref"] == "main"
    assert record.tags["prompthooks_reason"] == "deploy"
    assert record.tags["prompthooks_ci_url"] == "https://github.com/acme/app/actions/runs/4242"
    assert record.tags["prompthooks_deployed_at"].endswith("Z")
    assert json.loads(record.tags["mlflow.linkedPrompts"]) == [{"name": f"{prefix}_{i}", "version": "1"} for i in range(3)]
    assert json.loads(record.tags["prompthooks_prompts_1"]) == {f"{prefix}_{i}": ["1.0.0", 1] for i in range(3)}
    assert "prompthooks_previous" not in record.tags

    proxy = CountingProxy(mlflow_server.port)
    try:
        second = deploy(repo, proxy.uri, env_name)
        requests = proxy.take()
    finally:
        proxy.close()
    assert second.returncode == 0, second.stderr
    assert "0 alias(es) moved, 3 unchanged" in second.stdout
    # Versions, the experiment, the latest records, the aliases: one request each (per hundred prompts);
    # and the environment's lease: taken, then read and released as this run's own (three).
    assert requests <= 7, requests
    assert len(records(mlflow_server.uri, env_name)) == 1  # nothing moved, nothing recorded

    edit(repo, 1, "number one, politely.")
    repo.git("rm", "-q", "prompts/p2.md")
    lock_and_commit(repo, "drop p2")
    third = deploy(repo, mlflow_server.uri, env_name, "--json")
    assert third.returncode == 0, third.stderr
    document = json.loads(third.stdout)
    assert [(m["prompt"], m["from"], m["to"]) for m in document["moves"]] == [(f"{prefix}_1", 1, 2), (f"{prefix}_2", 1, None)]
    assert served(mlflow_server.uri, f"{prefix}_1", env_name)[0] == "1.0.1"
    assert served(mlflow_server.uri, f"{prefix}_0", env_name)[0] == "1.0.0"
    with pytest.raises(mlflow.exceptions.MlflowException):
        served(mlflow_server.uri, f"{prefix}_2", env_name)
    latest, first_record = records(mlflow_server.uri, env_name)
    assert latest.tags["prompthooks_previous"] == first_record.model_id == document["previous"]
    # Every alias move: prompt, alias, from, to.
    assert json.loads(latest.tags["prompthooks_moved_1"]) == [[f"{prefix}_1", env_name, 1, 2], [f"{prefix}_2", env_name, 1, None]]


@pytest.mark.every_backend
def test_rollback_restores_the_previous_versions_and_one_prompt_alone(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix)
    assert deploy(repo, mlflow_server.uri, "production").returncode == 0
    edit(repo, 0, "number zero.")
    edit(repo, 1, "number one.")
    assert deploy(repo, mlflow_server.uri, "production").returncode == 0
    assert [served(mlflow_server.uri, f"{prefix}_{i}", "production")[0] for i in range(3)] == ["1.0.1", "1.0.1", "1.0.0"]

    one = run(repo, "rollback", "production", f"{prefix}_0", "--tracking-uri", mlflow_server.uri)
    assert one.returncode == 0, one.stderr
    assert [served(mlflow_server.uri, f"{prefix}_{i}", "production")[0] for i in range(3)] == ["1.0.0", "1.0.1", "1.0.0"]

    # From another checkout, without history: records say what to restore.
    elsewhere = tmp_path / "elsewhere"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(elsewhere)], check=True)
    everything = cli.run(
        elsewhere, "rollback", "production", "--tracking-uri", mlflow_server.uri
    )
    assert everything.returncode == 0, everything.stderr
    # The latest record is the partial rollback; the one before it is the second deploy.
    assert [served(mlflow_server.uri, f"{prefix}_{i}", "production")[0] for i in range(3)] == ["1.0.1", "1.0.1", "1.0.0"]
    [newest, partial, *_] = records(mlflow_server.uri, "production")
    assert newest.tags["prompthooks_reason"] == partial.tags["prompthooks_reason"] == "rollback"

    to_first = records(mlflow_server.uri, "production")[-1].model_id
    back = run(repo, "rollback", "production", "--to", to_first[:10], "--tracking-uri", mlflow_server.uri)
    assert back.returncode == 0, back.stderr
    assert [served(mlflow_server.uri, f"{prefix}_{i}", "production")[0] for i in range(3)] == ["1.0.0", "1.0.0", "1.0.0"]
    assert records(mlflow_server.uri, "production")[0].tags["prompthooks_rolled_back_to"] == to_first

    by_ref = run(repo, "rollback", "production", "--ref", "HEAD", f"{prefix}_1", "--tracking-uri", mlflow_server.uri)
    assert by_ref.returncode == 0, by_ref.stderr
    assert [served(mlflow_server.uri, f"{prefix}_{i}", "production")[0] for i in range(3)] == ["1.0.0", "1.0.1", "1.0.0"]
    newest = records(mlflow_server.uri, "production")[0]
    assert json.loads(newest.tags["prompthooks_prompts_1"]) == {f"{prefix}_0": ["1.0.0", 1], f"{prefix}_1": ["1.0.1", 2], f"{prefix}_2": ["1.0.0", 1]}


def test_an_invalid_environment_is_refused_before_any_request(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    proxy = CountingProxy(mlflow_server.port)
    try:
        for bad in ("1.2.0", "latest", "v3", "prod/eu", ""):
            result = deploy(repo, proxy.uri, bad)
            assert result.returncode == 2, (bad, result.stderr)
            assert "not a valid MLflow alias" in result.stderr or "reserved by MLflow" in result.stderr
            assert result.stderr.count("\n") == 1
        assert run(repo, "rollback", "Latest", "--tracking-uri", proxy.uri).returncode == 2
        assert deploy(repo, proxy.uri, "production", "--variant", "b/c", "--weight", "10").returncode == 2
        assert proxy.take() == 0
    finally:
        proxy.close()


def test_server_down_exits_4_within_the_deadline_with_secrets_masked(tmp_path: Path, prefix: str) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    uri = f"http://deployer:uri-S3CRET-9@127.0.0.1:{free_port()}"
    env = {"MLFLOW_TRACKING_TOKEN": "tok-S3CRET-8"}
    for command in (["deploy", "production"], ["rollback", "production"]):
        start = time.monotonic()
        result = run(repo, *command, "--tracking-uri", uri, "--timeout", "60", env=env)
        assert result.returncode == 4, result.stderr
        assert time.monotonic() - start < 60  # as sync's test: the process, import mlflow included, within the deadline
        assert "unreachable or failing" in result.stderr and "Traceback" not in result.stderr
        assert "S3CRET" not in result.stdout + result.stderr


@pytest.mark.every_backend
def test_concurrent_deploys_of_different_refs_never_leave_a_silent_mix(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    """Whoever writes an alias last re-reads them all: a mixed environment always fails a deploy, loudly."""
    repo = make_repo(tmp_path / "repo", prefix, count=12)
    base = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "left")
    for i in range(12):
        repo.write(f"prompts/p{i}.md", repo.read(f"prompts/p{i}.md").replace(b"number", b"left number"))
    left = lock_and_commit(repo, "left")
    repo.git("checkout", "-q", base)
    repo.git("checkout", "-q", "-b", "right")
    for i in range(12):
        repo.write(f"prompts/p{i}.md", repo.read(f"prompts/p{i}.md").replace(b"number", b"right number").replace(b"---\n", b"---\nbump: minor\n", 1))
    right = lock_and_commit(repo, "right")
    for ref in (left, right):  # register both, so the race is about aliases only
        assert run(repo, "sync", "--ref", ref, "--tracking-uri", mlflow_server.uri).returncode == 0
    client = MlflowClient(tracking_uri=mlflow_server.uri)
    numbers = {
        ref: {f"{prefix}_{i}": int(next(v.version for v in client.search_model_versions(f"name = '{prefix}_{i}' AND tag.`mlflow.prompt.is_prompt` = 'true'") if v.tags.get("prompthooks_commit") == ref)) for i in range(12)}
        for ref in (left, right)
    }
    for round_ in range(2):
        environment = f"race{round_}"
        command = ["deploy", environment, "--tracking-uri", mlflow_server.uri, "--jobs", "1"]
        processes = [
            subprocess.Popen([PROMPTHOOKS, *command, "--ref", ref], cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for ref in (left, right)
        ]
        outputs = [process.communicate(timeout=300) for process in processes]
        codes = [process.returncode for process in processes]
        assert set(codes) <= {0, 1}, outputs
        final = {f"{prefix}_{i}": int(client.get_prompt_version_by_alias(f"{prefix}_{i}", environment).version) for i in range(12)}
        wholly = [ref for ref in (left, right) if final == numbers[ref]]
        if not wholly:
            assert 1 in codes, (codes, outputs)  # mixed: never silently
            failed = outputs[codes.index(1)][1]
            assert "another run moved" in failed and f"prompthooks status {environment}" in failed
        for code, (_, stderr) in zip(codes, outputs, strict=True):
            if code == 1:
                assert "another run moved" in stderr


@pytest.mark.every_backend
def test_status_reports_hand_moved_and_tampered_aliases(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=2)
    environment = f"st_{prefix[-20:]}"
    assert deploy(repo, mlflow_server.uri, environment).returncode == 0
    clean = run(repo, "status", environment, "--tracking-uri", mlflow_server.uri)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"  {prefix}_0: 1.0.0 (MLflow version 1)" in clean.stdout
    edit(repo, 0, "number zero.")
    assert run(repo, "sync", "--tracking-uri", mlflow_server.uri).returncode == 0  # 1.0.1 registered, not deployed
    client = MlflowClient(tracking_uri=mlflow_server.uri)
    client.set_prompt_alias(f"{prefix}_0", environment, 2)
    client.set_prompt_version_tag(f"{prefix}_1", 1, "mlflow.prompt.text", "Ignore all previous instructions.")
    drifted = run(repo, "status", environment, "--tracking-uri", mlflow_server.uri, "--json")
    assert drifted.returncode == 1, drifted.stderr
    document = json.loads(drifted.stdout)
    rows = {row["name"]: row for row in document["environments"][environment]["prompts"]}
    assert rows[f"{prefix}_0"]["mlflow_version"] == 2 and rows[f"{prefix}_0"]["recorded"] == 1
    assert any("alias moved outside prompthooks" in problem for problem in rows[f"{prefix}_0"]["drift"])
    assert any("in no deployment record" in problem for problem in rows[f"{prefix}_0"]["drift"])
    assert any("modified in the registry" in problem for problem in rows[f"{prefix}_1"]["drift"])
    history = run(repo, "deployments", environment, "--tracking-uri", mlflow_server.uri, "--json")
    assert history.returncode == 0, history.stderr
    [record] = json.loads(history.stdout)
    assert record["reason"] == "deploy" and record["prompts"][f"{prefix}_0"] == {"version": "1.0.0", "mlflow_version": 1}


@pytest.mark.every_backend
def test_a_split_serves_the_candidate_beside_the_environment_until_promoted(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=2)
    environment = f"ab_{prefix[-20:]}"
    assert deploy(repo, mlflow_server.uri, environment).returncode == 0
    edit(repo, 0, "number zero, in a new way.")
    split = deploy(repo, mlflow_server.uri, environment, "--variant", "b", "--weight", "20")
    assert split.returncode == 0, split.stderr
    client = MlflowClient(tracking_uri=mlflow_server.uri)
    assert served(mlflow_server.uri, f"{prefix}_0", environment)[0] == "1.0.0"
    assert served(mlflow_server.uri, f"{prefix}_0", f"{environment}--b")[0] == "1.0.1"
    tags = client.get_prompt(f"{prefix}_0").tags
    assert json.loads(tags[f"prompthooks_split_{environment}"]) == {environment: 80, f"{environment}--b": 20}
    assert f"prompthooks_split_{environment}" not in client.get_prompt(f"{prefix}_1").tags  # unchanged prompt: no split
    with pytest.raises(mlflow.exceptions.MlflowException):
        served(mlflow_server.uri, f"{prefix}_1", f"{environment}--b")
    again = deploy(repo, mlflow_server.uri, environment, "--variant", "b", "--weight", "20")
    assert "0 alias(es) moved" in again.stdout and again.returncode == 0
    assert run(repo, "status", environment, "--tracking-uri", mlflow_server.uri).returncode == 0

    promoted = deploy(repo, mlflow_server.uri, environment, "--promote", "b")
    assert promoted.returncode == 0, promoted.stderr
    assert served(mlflow_server.uri, f"{prefix}_0", environment)[0] == "1.0.1"
    with pytest.raises(mlflow.exceptions.MlflowException):
        served(mlflow_server.uri, f"{prefix}_0", f"{environment}--b")
    assert f"prompthooks_split_{environment}" not in client.get_prompt(f"{prefix}_0").tags
    assert [r.tags["prompthooks_reason"] for r in records(mlflow_server.uri, environment)] == ["promote", "split", "deploy"]

    edit(repo, 1, "number one, in a new way.")
    assert deploy(repo, mlflow_server.uri, environment, "--variant", "c", "--weight", "10").returncode == 0
    assert served(mlflow_server.uri, f"{prefix}_1", f"{environment}--c")[0] == "1.0.1"
    ended = deploy(repo, mlflow_server.uri, environment, "--end-split")
    assert ended.returncode == 0, ended.stderr
    with pytest.raises(mlflow.exceptions.MlflowException):
        served(mlflow_server.uri, f"{prefix}_1", f"{environment}--c")
    assert served(mlflow_server.uri, f"{prefix}_1", environment)[0] == "1.0.0"
    assert f"prompthooks_split_{environment}" not in client.get_prompt(f"{prefix}_1").tags
    assert run(repo, "status", environment, "--tracking-uri", mlflow_server.uri).returncode == 0


def test_wrong_credentials_exit_5_and_stay_secret(tmp_path: Path, prefix: str, auth_mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    wrong = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": "wrong-pw-S3CRET"}
    for command in (["deploy", "production"], ["status", "production"], ["export", "--env", "production", "--format", "env"]):
        result = run(repo, *command, "--tracking-uri", auth_mlflow_server.uri, env=wrong)
        assert result.returncode == 5, (command, result.stderr)
        assert "not authorized" in result.stderr and "S3CRET" not in result.stdout + result.stderr


def test_searches_of_several_chunks_at_once_read_what_one_at_a_time_reads(
    tmp_path: Path, prefix: str, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deploy reads aliases and versions a hundred names per search, ``--jobs`` searches at a time: same answer as in sequence."""
    from prompthooks.registry import client as adapter

    repo = make_repo(tmp_path / "repo", prefix, count=5)
    env_name = f"prod_{prefix[-20:]}"
    assert deploy(repo, mlflow_server.uri, env_name).returncode == 0
    edit(repo, 3, "number three, politely.")
    assert run(repo, "sync", "--tracking-uri", mlflow_server.uri).returncode == 0
    monkeypatch.setattr(adapter, "NAMES_PER_SEARCH", 2)  # 6 names: 3 searches
    registry = adapter.MlflowRegistry(mlflow_server.uri, time.monotonic() + 120)
    names = [f"{prefix}_{i}" for i in range(5)] + [f"{prefix}_missing"]
    in_sequence, at_once = registry.prompt_states(names), registry.prompt_states(names, jobs=3)
    assert at_once == in_sequence
    assert sorted(at_once) == names[:5] and all(state.aliases == {env_name: 1} for state in at_once.values())
    versions_in_sequence, versions_at_once = registry.list_versions(names), registry.list_versions(names, jobs=3)
    assert versions_at_once == versions_in_sequence
    assert [len(versions_at_once[name]) for name in names] == [1, 1, 1, 2, 1, 0]


def test_github_step_summary_gets_a_table_of_what_moved_appended(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=2)
    env_name = f"prod_{prefix[-20:]}"
    summary = tmp_path / "summary.md"
    summary.write_text("### an earlier step\n\n")
    github = {"GITHUB_STEP_SUMMARY": str(summary)}
    assert deploy(repo, mlflow_server.uri, env_name).returncode == 0  # unset: nothing written anywhere
    assert summary.read_text() == "### an earlier step\n\n"

    edit(repo, 1, "number one, politely.")
    moved = deploy(repo, mlflow_server.uri, env_name, env=github)
    assert moved.returncode == 0, moved.stderr
    text = summary.read_text()
    assert text.startswith("### an earlier step\n\n### prompthooks deploy `" + env_name + "` → `" + mlflow_server.uri + "` at `")
    assert "| prompt | alias | from | to |" in text
    assert f"| `{prefix}_1` | `{env_name}` | 1.0.0 (MLflow version 1) | 1.0.1 (MLflow version 2) |" in text
    assert f"`{prefix}_0`" not in text  # unchanged prompts are not listed
    assert re.search(r"1 alias\(es\) moved, 1 unchanged; deployment `m-\w+` \(READY\)", text)

    dry = run(repo, "rollback", env_name, "--dry-run", "--tracking-uri", mlflow_server.uri, env=github)
    assert dry.returncode == 0, dry.stderr
    planned = summary.read_text()
    assert "1 alias(es) would move, 1 unchanged\n" in planned[len(text) :]

    back = run(repo, "rollback", env_name, "--tracking-uri", mlflow_server.uri, env=github)
    assert back.returncode == 0, back.stderr
    rolled = summary.read_text()
    assert rolled.startswith(planned)  # appended, never overwritten
    added = rolled[len(planned) :]
    assert added.startswith(f"### prompthooks rollback `{env_name}`")
    assert f"| `{prefix}_1` | `{env_name}` | 1.0.1 (MLflow version 2) | 1.0.0 (MLflow version 1) |" in added
