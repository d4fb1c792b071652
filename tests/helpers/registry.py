"""Repositories of locked prompts, synced through the CLI, and what MLflow's own client sees of them."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from mlflow import MlflowClient

from prompthooks.registry.stored import IS_PROMPT_FILTER
from tests.helpers import cli
from tests.helpers.repos import GitRepo, init_repo


def prompt_text(name: str, text: str) -> str:
    return f"---\nname: {name}\ndescription: Test prompt {name}\nmodel_config:\n  temperature: 0.2\n  max_tokens: 64\nowner: tests\n---\n{text}\n"


def make_repo(root: Path, prefix: str, count: int = 3) -> GitRepo:
    repo = init_repo(root)
    for i in range(count):
        repo.write(f"prompts/p{i}.md", prompt_text(f"{prefix}_{i}", f"Say hello to {{{{ person }}}} number {i}."))
    lock_and_commit(repo, "add prompts")
    return repo


def lock_and_commit(repo: GitRepo, message: str) -> str:
    repo.git("add", "-A")
    result = cli.run(repo.root, "lock", "--quiet")
    assert result.returncode in (0, 1), result.stderr
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", message)
    return repo.git("rev-parse", "HEAD").strip()


def sync(repo: GitRepo, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli.run(repo.root, "sync", *args, env=env)


def versions(uri: str, name: str) -> list[dict[str, object]]:
    found = MlflowClient(tracking_uri=uri, registry_uri=uri).search_model_versions(f"name = '{name}' AND {IS_PROMPT_FILTER}")
    return sorted(({"number": int(v.version), **dict(v.tags), "description": v.description} for v in found), key=lambda v: v["number"])  # type: ignore[arg-type, return-value]
