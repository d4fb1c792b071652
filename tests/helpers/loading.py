"""Deployed trees and a registry an adversary may write to: what the loader's tests share."""

from __future__ import annotations

import json
import logging
import time
import traceback
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from prompthooks.main import main
from tests.helpers.cli import inside
from tests.helpers.repos import GitRepo, init_repo

TEMPLATE = "{#\ndescription: test assistant\nmodel_config:\n  temperature: 0.2\n#}\nAnswer {{ question }} for {{ person }}.\n"
COMPOSED_FILES = {
    "app/prompt/_rules.j2": "Be concise and polite.\n",
    "app/prompt/tr_include.jinja2": '{% include "_rules.j2" %}\nAnswer {{ question }}.\n',
    "app/prompt/_layout.j2": "System: {% block system %}You help.{% endblock %}\n{%- block user %}{% endblock %}\nEnd.\n",
    "app/prompt/tr_extends.jinja2": '{% extends "_layout.j2" %}{% block system %}{{ super() }} Strictly.{% endblock %}'
    "{% block user %}\nUser: {{ question }}{% endblock %}\n",
    "app/prompt/_macros.j2": "{% macro greet(who) %}Hello {{ who }}!{% endmacro %}\n",
    "app/prompt/tr_from.jinja2": '{% from "_macros.j2" import greet %}{{ greet(question) }}\n',
    "app/prompt/_style.prompt": "Answer in a {{tone}} tone.\n",
    "app/prompt/tr_story.prompt": "---\nmodel: googleai/gemini-2.0-flash\n---\n{{> style}}\nTell a story about {{subject}}.\n",
}
COMPOSED = ("tr_include", "tr_extends", "tr_from", "tr_story")


def fresh_loader(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For a fixture to ``yield from``: no registry or environment of the caller's, and nothing cached, before and after."""
    from prompthooks.runtime import loader

    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PROMPTHOOKS_ENV", "PROMPTHOOKS_ROOT", "PROMPTHOOKS_CACHE_TTL"):
        monkeypatch.delenv(variable, raising=False)
    loader.reset()
    yield
    loader.reset()


def registry_client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def lock_and_commit(repo: GitRepo, message: str) -> None:
    """``prompthooks lock`` in-process (a process per call is seconds on a loaded machine), then commit."""
    repo.git("add", "-A")
    with inside(repo.root):
        assert main(["lock", "--quiet"]) in (0, 1)
    repo.commit(message)


def make_tree(root: Path, name: str, text: str = TEMPLATE) -> GitRepo:
    """A repository with one locked prompt: what an application image ships."""
    repo = init_repo(root)
    repo.write(f"app/prompt/{name}.jinja2", text)
    lock_and_commit(repo, "add prompt")
    return repo


def locked(repo: GitRepo, name: str) -> dict[str, str]:
    import tomllib

    entry: dict[str, str] = tomllib.loads(repo.read("prompts.lock").decode())["prompts"][name]
    return entry


def release(repo: GitRepo, name: str, text: str) -> None:
    repo.write(f"app/prompt/{name}.jinja2", text)
    lock_and_commit(repo, "change prompt")


def synced(repo: GitRepo, uri: str) -> None:
    with inside(repo.root):
        assert main(["sync", "--tracking-uri", uri]) == 0


def set_tags(uri: str, name: str, version: int, tags: dict[str, str]) -> None:
    """Set version tags through MLflow's REST API, as anyone with write access to the registry can."""
    for key, value in tags.items():
        body = json.dumps({"name": name, "version": str(version), "key": key, "value": value}).encode()
        request = urllib.request.Request(f"{uri}/api/2.0/mlflow/model-versions/set-tag", body, {"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


def tamper(uri: str, name: str, version: int, text: str) -> None:
    """Change a version's template, as anyone with write access can."""
    set_tags(uri, name, version, {"mlflow.prompt.text": text})


def delete_tag(uri: str, name: str, version: int, key: str) -> None:
    body = json.dumps({"name": name, "version": str(version), "key": key}).encode()
    request = urllib.request.Request(f"{uri}/api/2.0/mlflow/model-versions/delete-tag", body, {"Content-Type": "application/json"}, method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _texts(error: BaseException | None) -> list[str]:
    """Everything an exception shows: its text, its attributes, its whole chain, and the locals of prompthooks' frames."""
    found: list[str] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found += [str(error), repr(error), *(str(value) for value in vars(error).values())]
        found += [line for frame in traceback.format_exception(error) for line in frame.splitlines()]
        frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__) if "prompthooks" in frame.f_code.co_filename]
        found += [repr(value) for frame in frames for value in frame.f_locals.values()]  # what an error tracker records
        error = error.__cause__ or error.__context__
    return found


def observe_a_failing_registry(name: str, root: str, uri: str) -> dict[str, object]:
    """What an application sees of ``load()`` while the registry at ``uri`` fails (run in a process of its own)."""
    from prompthooks import PromptUnavailableError, load
    from prompthooks.runtime import loader

    logged: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append(record.getMessage())

    logging.getLogger().addHandler(Keep(logging.WARNING))
    loader._reader(uri)  # imports mlflow's store for the scheme: once per process, before any deadline (README)
    started = time.monotonic()
    first = load(name, version="1.0.0", root=root, deadline=1)
    first_seconds = time.monotonic() - started
    started = time.monotonic()
    second = load(name, version="1.0.0", root=root, deadline=1)
    second_seconds = time.monotonic() - started
    try:
        load(name, env="production", root=root, deadline=1)
    except PromptUnavailableError as error:
        raised: PromptUnavailableError = error
    else:
        raise AssertionError("an environment cannot be served without the registry")
    return {
        "first_seconds": first_seconds, "second_seconds": second_seconds, "sources": [first.source, second.source],
        "error": str(raised), "chained": raised.__cause__ is not None or raised.__context__ is not None,
        "shown": _texts(raised), "logged": logged,
    }  # fmt: skip
