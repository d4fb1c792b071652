"""``prompthooks.load()`` and ``Prompt.format()`` attacked: integrity, sandbox, credentials.  Every test here FAILS today."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.entities.model_registry import ModelVersionTag

from prompthooks import PromptIntegrityError, PromptUnavailableError, load
from prompthooks.hashing import PromptContent, content_hash
from prompthooks.runtime import loader
from testing.mlflow_server import MlflowServer
from tests.adversary.support import client, run
from tests.helpers.registry import make_repo


@pytest.fixture(autouse=True)
def _fresh_loader(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PROMPTHOOKS_ENV", "PROMPTHOOKS_ROOT", "PROMPTHOOKS_CACHE_TTL", "PROMPTHOOKS_REQUIRE_GIT_HASH"):
        monkeypatch.delenv(variable, raising=False)
    loader.reset()
    yield
    loader.reset()


# --- integrity ----------------------------------------------------------------------------------


def test_an_unreadable_deployed_lock_does_not_silently_let_the_registry_vouch_for_itself(
    tmp_path: Path, prefix: str, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With the image's lock readable, a registry text rewritten with a matching prompthooks_hash is refused
    (PromptIntegrityError).  Make the lock unreadable (conflict markers, a truncated file, a bad pyproject.toml) and
    load() quietly drops to "the registry vouches for its own text": the forged text is served with source="registry",
    and nothing is logged.  It should refuse, or at least say on the prompthooks logger that it could not verify."""
    uri = mlflow_server.uri
    repo = make_repo(tmp_path / "repo", prefix, count=1)
    name = f"{prefix}_0"
    assert run(repo, uri, "deploy", "advlock").returncode == 0
    mlflow = client(uri)
    metadata = json.loads(mlflow.get_prompt_version(name, 1).tags["prompthooks_metadata"])
    forged = "Forged {{ person }}"
    store = mlflow._get_registry_client().store
    store.set_model_version_tag(name, "1", ModelVersionTag("prompthooks_hash", content_hash(PromptContent(forged, metadata))))
    store.set_model_version_tag(name, "1", ModelVersionTag("mlflow.prompt.text", forged))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(PromptIntegrityError):  # the guard works while the lock can be read
        load(name, env="advlock", root=str(repo.root))
    loader.reset()
    (repo.root / "prompts.lock").write_text("<<<<<<< HEAD\n")

    caplog.set_level(logging.WARNING, logger="prompthooks")
    try:
        served = load(name, env="advlock", root=str(repo.root))
    except (PromptIntegrityError, PromptUnavailableError):
        return
    warned = [record.getMessage() for record in caplog.records if record.name == "prompthooks"]
    assert warned, f"served {served.template!r} (source={served.source}) unverified, and nothing was logged"
