"""Small helpers shared by the adversarial repros: the CLI against a server, and MLflow read through REST."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request

from mlflow import MlflowClient

from tests.helpers import cli
from tests.helpers.registry import lock_and_commit, prompt_text
from tests.helpers.repos import GitRepo

NO_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}


def run(repo: GitRepo, uri: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = cli.run(repo.root, *args, "--tracking-uri", uri, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def aliases(uri: str, name: str) -> dict[str, int]:
    query = urllib.parse.urlencode({"name": name})
    with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/registered-models/get?{query}", timeout=30) as response:
        model = json.load(response)["registered_model"]
    return {item["alias"]: int(item["version"]) for item in model.get("aliases", [])}


def prompt_tags(uri: str, name: str) -> dict[str, str]:
    query = urllib.parse.urlencode({"name": name})
    with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/registered-models/get?{query}", timeout=30) as response:
        model = json.load(response)["registered_model"]
    return {item["key"]: item.get("value", "") for item in model.get("tags", [])}


def records(uri: str, environment: str) -> list[dict[str, str]]:
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("llmops-prompts")
    if experiment is None:
        return []
    found = client.search_logged_models(
        [experiment.experiment_id], filter_string=f"tags.prompthooks_environment = '{environment}'", order_by=[{"field_name": "creation_time", "ascending": False}]
    )
    return [{"status": model.status.name, "id": model.model_id, **model.tags} for model in found]


def edit(repo: GitRepo, prefix: str, index: int, text: str) -> str:
    repo.write(f"prompts/p{index}.md", prompt_text(f"{prefix}_{index}", f"{text} {{{{ person }}}}"))
    return lock_and_commit(repo, f"edit p{index}")


def client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=uri)
