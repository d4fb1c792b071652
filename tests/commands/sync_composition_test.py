"""Sync of composed prompts against a real MLflow server: the registered copy renders what Jinja2 renders from git."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import mlflow
import pytest

from prompthooks import contract
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.registry import lock_and_commit, sync, versions
from tests.helpers.repos import init_repo

VALUES = {"question": "Why is the sky blue?", "name": "Ada", "facts": ["one", "two"]}


def _files(p: str) -> dict[str, str]:
    return {
        "prompts/_rules.j2": "Be concise and polite.\n",
        f"prompts/{p}_include.jinja2": '{% include "_rules.j2" %}\nAnswer {{ question }}.\n',
        "prompts/_layout.j2": "System: {% block system %}You help.{% endblock %}\n{%- block user %}{% endblock %}\nEnd.\n",
        f"prompts/{p}_extends.jinja2": '{% extends "_layout.j2" %}{% block system %}{{ super() }} Strictly.{% endblock %}'
        "{% block user %}\nUser: {{ question }}{% for fact in facts %} [{{ fact }}]{% endfor %}{% endblock %}\n",
        "prompts/_macros.j2": "{% macro greet(who) %}Hello {{ who }}!{% endmacro %}\n{% macro bye() %}Bye.{% endmacro %}\n",
        f"prompts/{p}_from.jinja2": '{% from "_macros.j2" import greet, bye as farewell %}{{ greet(name) }} {{ farewell() }}\n',
        f"prompts/{p}_module.jinja2": '{% import "_macros.j2" as m %}{{ m.greet(name) }} {{ question }}\n',
        "shared/_footer.j2": "-- the support team",
        f"prompts/{p}_root.jinja2": '{{ question }}\n{% include "shared/_footer.j2" %}\n',
        "prompts/_style.prompt": "Answer in a {{tone}} tone.\n",
        f"prompts/{p}_story.prompt": "---\nmodel: googleai/gemini-2.0-flash\n---\n{{> style}}\nTell a story about {{subject}}.\n",
    }


def _framework_render(root: Path, path: str, values: dict[str, object]) -> str:
    """Jinja2's own rendering from the repository: a FileSystemLoader over the prompt's folder, then the root."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader([str(root / os.path.dirname(path)), str(root)]))
    return environment.get_template(os.path.basename(path)).render(**values)


def _dotprompt_render(root: Path, path: str, values: dict[str, object]) -> str:
    """The reference implementation's rendering (Google's dotpromptz), partials from the prompt's folder."""
    import asyncio

    dotpromptz = pytest.importorskip("dotpromptz")
    from dotpromptz._typing import DataArgument

    folder = root / os.path.dirname(path)
    partials = {file.stem[1:]: file.read_text() for file in folder.glob("_*.prompt")}
    rendered = asyncio.run(dotpromptz.Dotprompt(partials=partials).render((root / path).read_text(), DataArgument(input=values)))
    return "".join(part.text for message in rendered.messages for part in message.content if hasattr(part, "text")).strip()


@pytest.mark.every_backend
def test_composed_prompts_register_self_contained_copies_that_render_like_jinja(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = init_repo(tmp_path / "repo")
    for path, text in _files(prefix).items():
        repo.write(path, text)
    lock_and_commit(repo, "composed prompts")
    result = sync(repo, "--tracking-uri", mlflow_server.uri)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("prompthooks sync: 6 registered, 0 skipped, 0 conflict(s)")
    mlflow.set_tracking_uri(mlflow_server.uri)
    mlflow.set_registry_uri(mlflow_server.uri)
    mlflow.set_tracking_uri(mlflow_server.uri)  # else MLflow's default store, ./mlflow.db, lands in the checkout
    for kind in ("include", "extends", "from", "module", "root"):
        name = f"{prefix}_{kind}"
        [version] = versions(mlflow_server.uri, name)
        assert "{% include" not in str(version["mlflow.prompt.text"]) and "{% extends" not in str(version["mlflow.prompt.text"])
        assert str(version[contract.TAG_FLATTENED_HASH]).startswith("sha256:")
        loaded = mlflow.genai.load_prompt(f"prompts:/{name}/1")
        expected = _framework_render(repo.root, f"prompts/{name}.jinja2", VALUES)
        assert loaded.format(**VALUES) == expected, name
    # Dotprompt: the partial inlined where it stood (golden text: Handlebars drops a standalone partial's own line).
    [story] = versions(mlflow_server.uri, f"{prefix}_story")
    assert story["mlflow.prompt.text"] == "Answer in a {{tone}} tone.\nTell a story about {{subject}}.\n"
    story_values = {"tone": "calm", "subject": "cats"}
    registered = mlflow.genai.load_prompt(f"prompts:/{prefix}_story/1").format(**story_values)
    assert registered.strip() == _dotprompt_render(repo.root, f"prompts/{prefix}_story.prompt", story_values)
    # Fragments are locked, never registered.
    assert versions(mlflow_server.uri, "_rules") == [] and versions(mlflow_server.uri, "_style") == []
    again = sync(repo, "--tracking-uri", mlflow_server.uri)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1].startswith("prompthooks sync: 0 registered, 6 skipped, 0 conflict(s)")
    shown = cli.run(repo.root, "show", f"{prefix}_include", "--flattened")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == versions(mlflow_server.uri, f"{prefix}_include")[0]["mlflow.prompt.text"]


def test_a_dependency_change_registers_the_dependents_new_version(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.write("prompts/_rules.j2", "Be concise and polite.\n")
    repo.write(f"prompts/{prefix}_a.jinja2", '{% include "_rules.j2" %} {{ question }}\n')
    repo.write(f"prompts/{prefix}_b.jinja2", "{{ question }}\n")
    lock_and_commit(repo, "first")
    assert sync(repo, "--tracking-uri", mlflow_server.uri).returncode == 0
    repo.write("prompts/_rules.j2", "Be rude.\n")
    lock_and_commit(repo, "rude rules")
    result = sync(repo, "--tracking-uri", mlflow_server.uri)
    assert result.returncode == 0, result.stderr
    assert f"registered {prefix}_a 1.0.1" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("prompthooks sync: 1 registered, 1 skipped")
    texts = [v["mlflow.prompt.text"] for v in versions(mlflow_server.uri, f"{prefix}_a")]
    assert texts == ["{% if true %}Be concise and polite. {{ question }}{% endif %}", "{% if true %}Be rude. {{ question }}{% endif %}"]


def test_an_unfaithful_flattening_is_an_error_and_registers_nothing_wrong(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    repo = init_repo(tmp_path / "repo")
    # A macro imported without context cannot see the caller's variables; inlined, it would.
    repo.write("prompts/_macros.j2", "{% macro greet() %}Hello {{ name }}!{% endmacro %}\n")
    repo.write(f"prompts/{prefix}_bad.jinja2", '{% from "_macros.j2" import greet %}{{ greet() }} {{ name }}\n')
    repo.write(f"prompts/{prefix}_good.jinja2", "Fine {{ name }}\n")
    lock_and_commit(repo, "first")
    result = sync(repo, "--tracking-uri", mlflow_server.uri)
    assert result.returncode == 1
    assert f"error {prefix}_bad 1.0.0 (prompts/{prefix}_bad.jinja2): cannot be registered as a self-contained template" in result.stdout
    assert "renders differently" in result.stdout and "import" in result.stdout
    assert "1 registered, 0 skipped, 0 conflict(s), 0 rejected, 1 error(s)" in result.stdout
    assert versions(mlflow_server.uri, f"{prefix}_bad") == []
    assert len(versions(mlflow_server.uri, f"{prefix}_good")) == 1
    shown = cli.run(repo.root, "show", f"{prefix}_bad", "--flattened")
    assert shown.returncode == 1 and "cannot be registered as a self-contained template" in shown.stderr


def test_a_tampered_flattened_copy_is_a_conflict(tmp_path: Path, prefix: str, mlflow_server: MlflowServer) -> None:
    from mlflow import MlflowClient

    repo = init_repo(tmp_path / "repo")
    repo.write("prompts/_rules.j2", "Be polite.\n")
    repo.write(f"prompts/{prefix}_a.jinja2", '{% include "_rules.j2" %} {{ question }}\n')
    lock_and_commit(repo, "first")
    assert sync(repo, "--tracking-uri", mlflow_server.uri).returncode == 0
    MlflowClient(tracking_uri=mlflow_server.uri).set_prompt_version_tag(f"{prefix}_a", 1, "mlflow.prompt.text", "{% if true %}Be rude. {{ question }}{% endif %}")
    result = sync(repo, "--tracking-uri", mlflow_server.uri)
    assert result.returncode == 1
    assert "was modified in the registry" in result.stdout


