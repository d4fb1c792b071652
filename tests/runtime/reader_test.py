"""The loader's registry reads: a REST server and a local store give the same answers, and "not there" is its own error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from prompthooks.contract import TAG_HASH, TAG_VERSION
from prompthooks.registry.stored import PromptState
from prompthooks.runtime.reader import RegistryNotFound, RuntimeReader, StoredVersion
from testing.mlflow_server import MlflowServer


def _fill(uri: str, name: str) -> None:
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.register_prompt(name, "Hello {{ who }}.", tags={TAG_VERSION: "1.0.0", TAG_HASH: "sha256:one"})
    client.register_prompt(name, "Hi {{ who }}.", tags={TAG_VERSION: "1.1.0", TAG_HASH: "sha256:two"})
    client.set_prompt_tag(name, "team", "support")
    client.set_prompt_alias(name, "production", 1)


def _answers(reader: RuntimeReader, name: str) -> tuple[PromptState, StoredVersion, list[StoredVersion]]:
    prompt = reader.prompt(name, timeout=10)
    version = reader.version(name, 2, timeout=10)
    found = reader.version_by_semver(name, "1.0.0", timeout=10)
    return prompt, version, found


@pytest.fixture(params=["server", "local store"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "server":
        server: MlflowServer = request.getfixturevalue("mlflow_server")
        return server.uri
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_reads_a_prompt_its_versions_and_a_semver(uri: str) -> None:
    name = f"reader_{time.time_ns()}"
    _fill(uri, name)
    prompt, version, found = _answers(RuntimeReader(uri), name)
    assert prompt.name == name and prompt.aliases == {"production": 1} and prompt.tags["team"] == "support"
    assert (version.number, version.tags[TAG_VERSION], version.tags[TAG_HASH]) == (2, "1.1.0", "sha256:two")
    assert version.tags["mlflow.prompt.text"] == "Hi {{ who }}."
    assert [(item.number, item.tags[TAG_HASH]) for item in found] == [(1, "sha256:one")]


def test_what_is_not_there_is_registry_not_found(uri: str) -> None:
    name = f"reader_{time.time_ns()}"
    reader = RuntimeReader(uri)
    with pytest.raises(RegistryNotFound):
        reader.prompt(name, timeout=10)
    _fill(uri, name)
    with pytest.raises(RegistryNotFound):
        reader.version(name, 9, timeout=10)
    assert reader.version_by_semver(name, "9.9.9", timeout=10) == []
