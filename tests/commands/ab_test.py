"""`prompthooks ab` end to end: split, serve through ``load()`` inside ``@mlflow.trace``, log feedback, report.

The application is a process of its own (``testing/traffic.py``) whose outcomes have a known true difference
between the arms; the report must count every arm's traces exactly and reach the verdict the truth implies,
and name no winner where the truth is no difference.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import pytest

from testing import traffic
from testing.mlflow_server import MlflowServer, free_port
from tests.helpers import cli
from tests.helpers.registry import lock_and_commit, make_repo, prompt_text
from tests.helpers.repos import GitRepo

TRAFFIC = str(Path(traffic.__file__).resolve())


def split(root: Path, prefix: str, uri: str, environment: str, weight: int = 50) -> tuple[GitRepo, str]:
    """A repository of one prompt, deployed to ``environment``, then a changed version split in as variant b."""
    repo = make_repo(root, prefix, count=1)
    assert cli.run(repo.root, "deploy", environment, "--tracking-uri", uri).returncode == 0
    repo.write("prompts/p0.md", prompt_text(f"{prefix}_0", "Say hello to {{ person }} number 0, warmly and briefly."))
    lock_and_commit(repo, "a warmer greeting")
    result = cli.run(repo.root, "deploy", environment, "--variant", "b", "--weight", str(weight), "--tracking-uri", uri)
    assert result.returncode == 0, result.stderr
    return repo, f"{prefix}_0"


def short(prefix: str, tag: str) -> str:
    """A prompt name unique to the test and short enough for MLflow's trace-to-prompt association (36 characters with /N)."""
    return f"ab{hashlib.sha1(prefix.encode()).hexdigest()[:8]}{tag}"


def serve(cwd: Path, uri: str, *args: str) -> dict[str, Any]:
    """The application: its own process, as a service runs; returns what it served, arm by arm."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    result = subprocess.run([sys.executable, TRAFFIC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def report(repo: GitRepo, uri: str, environment: str, *args: str) -> dict[str, Any]:
    result = cli.run(repo.root, "ab", environment, "--tracking-uri", uri, "--json", *args)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def assert_counts_exact(prompt: dict[str, Any], served: dict[str, dict[str, int]]) -> None:
    for arm in prompt["arms"]:
        truth = served[arm["alias"]]
        assert arm["traces"] == truth["traces"], arm["alias"]
        assert arm["metrics"]["error_rate"]["n"] * arm["metrics"]["error_rate"]["mean"] == pytest.approx(truth["errors"])
        assert arm["metrics"]["resolved"]["n"] == truth["feedback"]
        assert arm["metrics"]["resolved"]["mean"] == pytest.approx(truth["resolved"] / truth["feedback"])


def test_a_known_difference_is_found_and_a_zero_difference_names_no_winner(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    """2,000 users of one application, two experiments at once: prompt x's variant resolves 12 points more often
    (and costs 20 more tokens), prompt y's variant exactly as often as its main arm."""
    uri = mlflow_server.uri
    env_x, env_y = f"abx_{prefix[-20:]}", f"aby_{prefix[-20:]}"
    repo_x, name_x = split(tmp_path / "x", short(prefix, "x"), uri, env_x)
    _, name_y = split(tmp_path / "y", short(prefix, "y"), uri, env_y)
    experiment = f"{prefix}_app"
    truth = [
        f"--resolved={env_x}=0.50", f"--resolved={env_x}--b=0.62", f"--tokens={env_x}--b=120",
        f"--resolved={env_y}=0.55", f"--resolved={env_y}--b=0.55", f"--errors={env_y}=0.02", f"--errors={env_y}--b=0.02",
    ]
    served = serve(repo_x.root, uri, "--serve", f"{name_x}@{env_x}", "--serve", f"{name_y}@{env_y}", "--users", "2000", "--experiment", experiment, *truth)["arms"]
    assert sum(arm["traces"] for arm in served.values()) == 2000

    better = report(repo_x, uri, env_x, "--experiment", experiment)
    [prompt] = better["prompts"]
    assert prompt["name"] == name_x and [arm["alias"] for arm in prompt["arms"]] == [env_x, f"{env_x}--b"]
    assert_counts_exact(prompt, served)
    [variant] = prompt["variants"]
    findings = {item["metric"]: item["finding"] for item in variant["metrics"]}
    assert variant["finding"] == "better" and findings["resolved"] == "better" and findings["total_tokens"] == "worse"
    assert variant["verdict"].startswith(f"{env_x}--b is better than {env_x} on resolved (+")
    resolved = next(item for item in variant["metrics"] if item["metric"] == "resolved")
    assert resolved["difference"] == pytest.approx(0.12, abs=0.005)  # the truth, to within one request per arm
    assert resolved["ci95"][0] > 0
    assert better["next"]["command"] == f"prompthooks deploy {env_x} --promote b"

    same = report(repo_x, uri, env_y, "--experiment", experiment)
    [prompt] = same["prompts"]
    assert_counts_exact(prompt, served)
    [variant] = prompt["variants"]
    assert variant["finding"] == "same" and "better" not in variant["verdict"]
    resolved = next(item for item in variant["metrics"] if item["metric"] == "resolved")
    assert resolved["ci95"][0] < 0 < resolved["ci95"][1]
    assert same["next"]["command"] == f"prompthooks deploy {env_y} --end-split"

    text = cli.run(repo_x.root, "ab", env_y, "--tracking-uri", uri, "--experiment", experiment)
    assert text.returncode == 0 and f"verdict: no difference between {env_y}--b and {env_y}" in text.stdout
    assert text.stdout.rstrip().endswith(f"next: prompthooks deploy {env_y} --end-split  (no arm is better: end the split and keep the main arm)")
    markdown = cli.run(repo_x.root, "ab", env_x, "--tracking-uri", uri, "--experiment", experiment, "--format", "markdown")
    assert markdown.stdout.startswith(f"### A/B report: `{env_x}`") and f"```bash\nprompthooks deploy {env_x} --promote b\n```" in markdown.stdout

    promoted = cli.run(repo_x.root, "deploy", env_x, "--promote", "b", "--tracking-uri", uri)
    assert promoted.returncode == 0, promoted.stderr
    after = report(repo_x, uri, env_x, "--experiment", experiment)  # the split ended: read from its record, up to the promote
    assert not after["prompts"][0]["active"] and after["prompts"][0]["to"] is not None
    assert [arm["traces"] for arm in after["prompts"][0]["arms"]] == [served[env_x]["traces"], served[f"{env_x}--b"]["traces"]]
    assert after["next"] == {"command": None, "reason": f"no split serves in {env_x} now: nothing to promote or end"}


@pytest.mark.every_backend
def test_traces_linked_by_mlflows_own_exporter_and_load_prompt_are_counted(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    """No batching: MLflow's exporter, a trace at a time, for prompthooks.load and for mlflow.genai.load_prompt alike;
    a short name found through MLflow's association, a long one (which PostgreSQL cannot associate) through its spans."""
    uri = mlflow_server.uri
    env_short, env_long = f"abs_{prefix[-20:]}", f"abl_{prefix[-20:]}"
    repo, name_short = split(tmp_path / "short", short(prefix, "s"), uri, env_short)
    _, name_long = split(tmp_path / "long", prefix, uri, env_long)
    assert len(f"{name_long}/1") > 36
    experiment = f"{prefix}_app"
    serving = ["--serve", f"{name_short}@{env_short}", "--serve", f"{name_long}@{env_long}"]
    served = serve(repo.root, uri, *serving, "--users", "30", "--experiment", experiment, "--mlflow-exporter")["arms"]

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(experiment)

    @mlflow.trace
    def with_mlflows_loader(name: str, alias: str) -> str:
        return str(mlflow.genai.load_prompt(f"prompts:/{name}@{alias}").template)

    for _ in range(3):
        with_mlflows_loader(name_short, f"{env_short}--b")
        with_mlflows_loader(name_long, f"{env_long}--b")
    mlflow.flush_trace_async_logging()

    for environment in (env_short, env_long):
        document = report(repo, uri, environment, "--experiment", experiment)
        [prompt] = document["prompts"]
        traces = {arm["alias"]: arm["traces"] for arm in prompt["arms"]}
        assert traces == {environment: served[environment]["traces"], f"{environment}--b": served[f"{environment}--b"]["traces"] + 3}
        resolved = {arm["alias"]: arm["metrics"]["resolved"]["n"] for arm in prompt["arms"]}
        assert resolved == {alias: served[alias]["feedback"] for alias in (environment, f"{environment}--b")}
        # The same report from the database directly (no server): the store's entities read as the server's JSON.
        direct = report(repo, mlflow_server.backend_store_uri, environment, "--experiment", experiment)
        assert direct["prompts"][0]["arms"] == prompt["arms"]


def test_the_window_and_a_split_no_trace_reached_yet(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    uri = mlflow_server.uri
    environment = f"abw_{prefix[-20:]}"
    repo, name = split(tmp_path / "repo", prefix, uri, environment)
    empty = cli.run(repo.root, "ab", environment, "--tracking-uri", uri)
    assert empty.returncode == 0, empty.stderr
    assert f"{name}: split, from " in empty.stdout and "verdict: not enough data yet" in empty.stdout
    assert f"next: keep the split serving; run `prompthooks ab {environment}` again after about" in empty.stdout
    future = report(repo, uri, environment, "--from", "2999-01-01")
    assert future["prompts"][0]["from"] == "2999-01-01T00:00:00Z" and all(arm["traces"] == 0 for arm in future["prompts"][0]["arms"])
    assert report(repo, uri, environment, "--since", "1h")["prompts"][0]["from"] is not None
    nothing = cli.run(repo.root, "ab", f"none_{prefix[-20:]}", "--tracking-uri", uri)
    assert nothing.returncode == 0 and f"no split in none_{prefix[-20:]}" in nothing.stdout
    named = cli.run(repo.root, "ab", environment, "unknown_prompt", "--tracking-uri", uri)
    assert named.returncode == 0 and f"note: unknown_prompt: no split in {environment}, now or in its deployment records" in named.stdout


def test_usage_and_registry_failures_exit_as_for_sync(tmp_path: Path, prefix: str, mlflow_server: MlflowServer, auth_mlflow_server: MlflowServer) -> None:
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    for args in (["latest"], ["v2"], ["production", "--since", "yesterday"], ["production", "--from", "soon"], ["production", "--metric", "x:down"]):
        result = cli.run(repo.root, "ab", *args, "--tracking-uri", mlflow_server.uri)
        assert result.returncode == 2, (args, result.stderr)
    unknown = cli.run(repo.root, "ab", "production", "--tracking-uri", mlflow_server.uri, "--experiment", f"{prefix}_none", "--experiment", "0")
    assert unknown.returncode == 0  # no split: no experiment is looked up
    down = cli.run(repo.root, "ab", "production", "--tracking-uri", f"http://127.0.0.1:{free_port()}", "--timeout", "20")
    assert down.returncode == 4, down.stderr
    wrong = cli.run(repo.root, "ab", "production", "--tracking-uri", auth_mlflow_server.uri, env={"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": "wrong-S3CRET"})
    assert wrong.returncode == 5 and "S3CRET" not in wrong.stderr + wrong.stdout


def test_an_experiment_that_does_not_exist_is_an_error(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    environment = f"abe_{prefix[-20:]}"
    repo, _ = split(tmp_path / "repo", prefix, mlflow_server.uri, environment)
    result = cli.run(repo.root, "ab", environment, "--tracking-uri", mlflow_server.uri, "--experiment", f"{prefix}_nowhere")
    assert result.returncode == 1 and f"no experiment named or numbered '{prefix}_nowhere'" in result.stderr
    assert cli.run(repo.root, "ab", environment, "--tracking-uri", mlflow_server.uri, "--experiment", "0").returncode == 0  # by id: Default

