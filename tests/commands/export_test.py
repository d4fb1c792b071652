"""`prompthooks export`: golden manifests per format, from git alone, and from an environment's aliases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from prompthooks.main import main
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.registry import lock_and_commit
from tests.helpers.repos import GitRepo, init_repo

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


@pytest.fixture
def fixed_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """Two prompts committed at a fixed date, so the commit sha (and the golden files) never change."""
    for variable in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(variable, "2026-01-31T12:00:00+00:00")
    repo = init_repo(tmp_path / "repo")
    repo.write("prompts/assistant.jinja2", "{# description: The assistant #}\nAnswer {{ question }} politely.\n")
    repo.write("prompts/triage.md", "---\nname: support.triage-v2\n---\nRoute {{ ticket }} to a team.\n")
    lock_and_commit(repo, "prompts")
    monkeypatch.chdir(repo.root)
    return repo


@pytest.mark.parametrize(
    ("output", "extra", "golden"),
    [
        ("env", [], "export.env"),
        ("dotenv", [], "export.dotenv"),
        ("json", [], "export.json"),
        ("k8s", [], "export.k8s.yaml"),
        ("k8s", ["--prompt", "assistant", "--name", "assistant-prompt"], "export-one.k8s.yaml"),
        ("env", ["--prompt", "support.triage-v2"], "export-one.env"),
    ],
)
def test_golden(fixed_repo: GitRepo, capsys: pytest.CaptureFixture[str], output: str, extra: list[str], golden: str) -> None:
    assert main(["export", "--format", output, *extra]) == 0
    head = fixed_repo.git("rev-parse", "HEAD").strip()  # fixed too, but it changes whenever the lock's format does
    assert capsys.readouterr().out.replace(head, "{GIT_SHA}") == (GOLDEN / golden).read_text()


def test_k8s_is_a_valid_config_map(fixed_repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "k8s"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert (document["apiVersion"], document["kind"], document["metadata"]["name"]) == ("v1", "ConfigMap", "prompts")
    assert all(isinstance(value, str) for value in document["data"].values())
    assert document["data"]["PROMPT_SUPPORT_TRIAGE_V2_VERSION"] == "1.0.0"
    assert "PROMPT_VERSION" not in document["data"]
    assert main(["export", "--format", "k8s", "--name", "Not_A_Name"]) == 2


def test_output_file_is_written_once(fixed_repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    target = fixed_repo.root / "out" / "prompts.env"
    target.parent.mkdir()
    assert main(["export", "--format", "dotenv", "-o", str(target)]) == 0
    assert "wrote" in capsys.readouterr().err
    before = target.stat().st_mtime_ns
    assert main(["export", "--format", "dotenv", "-o", str(target)]) == 0
    assert capsys.readouterr().err == "" and target.stat().st_mtime_ns == before
    assert target.read_text().replace(fixed_repo.git("rev-parse", "HEAD").strip(), "{GIT_SHA}") == (GOLDEN / "export.dotenv").read_text()


def test_two_prompts_on_one_variable_are_refused(fixed_repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """The hook refuses the clash at commit; export still refuses it when committed without the hook."""
    fixed_repo.write("prompts/other.md", "---\nname: support_triage.v2\n---\nAnother {{ ticket }}.\n")
    fixed_repo.git("add", "-A")
    assert main(["lock"]) == 1
    assert capsys.readouterr().err.startswith(
        "prompts/triage.md: prompt name 'support.triage-v2' and 'support_triage.v2' (prompts/other.md) are one environment variable, "
        "PROMPT_SUPPORT_TRIAGE_V2_VERSION"
    )
    fixed_repo.commit("clash, committed with --no-verify")
    assert main(["export", "--format", "env"]) == 1
    assert "are one environment variable, PROMPT_SUPPORT_TRIAGE_V2_VERSION" in capsys.readouterr().err
    assert main(["export", "--format", "env", "--prompt", "missing"]) == 1


def test_export_from_git_never_imports_mlflow(fixed_repo: GitRepo) -> None:
    code = "import sys; from prompthooks.main import main; code = main(['export', '--format', 'json']); assert 'mlflow' not in sys.modules; raise SystemExit(code)"
    result = subprocess.run([sys.executable, "-c", code], cwd=fixed_repo.root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["prompts"]["assistant"]["version"] == "1.0.0"


@pytest.mark.every_backend
def test_export_from_an_environment(tmp_path: Path, mlflow_server: MlflowServer) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.write("prompts/exported.md", "---\nname: x_exported_prompt\n---\nHello {{ who }}.\n")
    lock_and_commit(repo, "one prompt")
    environment = "export_env"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server.uri}
    deployed = cli.run(repo.root, "deploy", environment, env=env)
    assert deployed.returncode == 0, deployed.stderr
    exported = cli.run(repo.root, "export", "--env", environment, "--format", "json", env=env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["git_sha"] == repo.git("rev-parse", "HEAD").strip()
    assert document["prompts"]["x_exported_prompt"]["version"] == "1.0.0"
    assert document["prompts"]["x_exported_prompt"]["mlflow_version"] == 1
    assert document["source"].startswith(f"environment {environment} (deployment m-")
