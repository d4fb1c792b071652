"""Every kind of prompt through every command, as a new user takes them, against a real server on every backend.

A repository holding each kind the README supports (Jinja with front matter, Jinja that includes
a fragment, Jinja that extends a base, a Prompty chat, a Dotprompt with ``#if``/``#each``, an
optional input, a partial and a named output schema, Markdown, text) goes through lock, sync,
deploy, status, export, split, promote, end-split, every form of rollback and backfill.  After
every step: ``status`` is clean, ``export`` names every prompt, and each prompt ``load()`` serves
(by environment and by version, from the registry and from the files) renders what the format's
own engine renders from the repository's files at the served version, and what MLflow's own
``format()`` renders wherever MLflow can; its model settings are MLflow's.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import mlflow
import pytest
import yaml

from prompthooks import load
from prompthooks.runtime import loader
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.registry import lock_and_commit
from tests.helpers.repos import GitRepo, init_repo

FILES = {
    "prompts/assistant.jinja2": (
        "{#- name: assistant\ndescription: Support assistant.\nmodel_config:\n  temperature: 0.2\n  max_tokens: 200\n-#}\n"
        "Hello {{ customer }}. Answer {{ question }} politely.\n"
    ),
    "prompts/_rules.j2": "Be concise.\n",
    "prompts/composed.jinja2": '{% include "_rules.j2" %}Answer {{ question }}.\n',
    "prompts/_layout.j2": "System: {% block system %}You help.{% endblock %}\n{%- block user %}{% endblock %}\n",
    "prompts/extended.jinja2": '{% extends "_layout.j2" %}{% block user %}\nUser: {{ question }}{% for fact in facts %} [{{ fact }}]{% endfor %}{% endblock %}\n',
    "prompts/judge.prompty": (
        "---\nname: Judge\nmodel:\n  api: chat\n  parameters:\n    temperature: 0.0\n    max_tokens: 300\n"
        "inputs:\n  query:\n    kind: string\n  response:\n    kind: string\n---\n"
        "system:\nYou judge answers.\n\nuser:\nQUERY: {{query}}\nRESPONSE: {{response}}\n"
    ),
    "prompts/_tone.prompt": "Keep a {{#if style}}{{style}}{{else}}neutral{{/if}} tone.\n",
    "prompts/summarize.prompt": (
        "---\nmodel: googleai/gemini-1.5-flash\nconfig:\n  temperature: 0.3\n"
        "input:\n  schema:\n    text: string\n    style?: string\n    points(array): string\n"
        "output:\n  schema: Recipe\n---\n"
        "Summarize {{text}}{{#if style}} in a {{style}} style{{/if}}.\n{{> tone}}\n{{#each points}}- {{this}}\n{{/each}}Thanks.\n"
    ),
    "prompts/notes.md": "---\nname: notes\ndescription: Meeting notes.\n---\nWrite notes about {{ topic }}.\n",
    "prompts/plain.txt": "Greet {{ name }} warmly.\n",
}
VALUES: dict[str, dict[str, Any]] = {
    "assistant": {"customer": "Ada", "question": "why the sky is blue"},
    "composed": {"question": "what time it is"},
    "extended": {"question": "where to start", "facts": ["one", "two"]},
    "judge": {"query": "How do I reset it?", "response": "Open Settings."},
    "summarize": {"text": "the report", "points": ["a", "b"], "style": "terse"},
    "notes": {"topic": "the roadmap"},
    "plain": {"name": "Grace"},
}
PATHS = {"assistant": "prompts/assistant.jinja2", "composed": "prompts/composed.jinja2", "extended": "prompts/extended.jinja2",
         "judge": "prompts/judge.prompty", "summarize": "prompts/summarize.prompt", "notes": "prompts/notes.md", "plain": "prompts/plain.txt"}  # fmt: skip
ENVIRONMENT = "production"


class Matrix:
    def __init__(self, repo: GitRepo, server: MlflowServer, prefix: str, trees: Path) -> None:
        self.repo, self.server, self.prefix, self.trees = repo, server, prefix, trees
        self.environment = f"{ENVIRONMENT}_{prefix[-12:]}"

    def name(self, short: str) -> str:
        return f"{self.prefix}_{short}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = cli.run(self.repo.root, *args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def registry(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(*args, "--tracking-uri", self.server.uri)

    def tree(self, commit: str) -> Path:
        """The repository's files at ``commit``."""
        target = self.trees / commit
        if not target.exists():
            archive = subprocess.run(["git", "archive", commit], cwd=self.repo.root, capture_output=True, check=True).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(target, filter="data")
        return target


def _files(prefix: str) -> dict[str, str]:
    renamed = {}
    for path, text in FILES.items():
        folder, _, file = path.rpartition("/")
        stem, dot, suffix = file.partition(".")
        if stem.startswith("_"):
            renamed[path] = text
        else:
            renamed[f"{folder}/{prefix}_{stem}{dot}{suffix}"] = text.replace("name: assistant", f"name: {prefix}_assistant").replace(
                "name: notes", f"name: {prefix}_notes"
            )
    return renamed


def _own_engine(tree: Path, path: str, values: dict[str, Any]) -> Any:
    """What the format's own engine renders from the files: Jinja2, Prompty, Dotprompt (dotpromptz); text as MLflow substitutes it."""
    folder = tree / os.path.dirname(path)
    if path.endswith((".jinja2", ".j2")):
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader([str(folder), str(tree)]))
        return environment.get_template(os.path.basename(path)).render(**values)
    if path.endswith(".prompty"):
        import prompty

        return [{"role": message.role, "content": message.parts[0].value} for message in prompty.prepare(prompty.load(str(tree / path)), values)]
    if path.endswith(".prompt"):
        import dotpromptz
        from dotpromptz._typing import DataArgument

        partials = {file.stem[1:]: file.read_text() for file in folder.glob("_*.prompt")}
        schemas = {"Recipe": {"type": "object", "properties": {"title": {"type": "string"}}}}  # as Genkit's defineSchema registers it
        engine = dotpromptz.Dotprompt(partials=partials, schemas=schemas)
        rendered = asyncio.run(engine.render((tree / path).read_text(), DataArgument(input=values)))
        return "".join(part.text for message in rendered.messages for part in message.content if hasattr(part, "text"))
    text = (tree / path).read_text()
    body = text.split("---\n", 2)[2] if text.startswith("---\n") else text
    for key, value in values.items():
        body = body.replace("{{ " + key + " }}", str(value))
    return body


def _as_mlflow_renders(template: object, jinja_renders: Any) -> Any:
    """What MLflow's ``format()`` gives where Jinja2 gives ``jinja_renders``.

    MLflow renders a template with Jinja2 only when it holds a statement (``{%``); otherwise it
    substitutes ``{{ name }}`` in the text, which keeps the final newline Jinja2 drops.
    """
    if isinstance(template, str) and "{%" not in template and template.endswith("\n") and isinstance(jinja_renders, str):
        return jinja_renders + "\n"
    return jinja_renders


def _mlflow_version(uri: str, name: str, alias: str) -> Any:
    mlflow.set_registry_uri(uri)
    mlflow.set_tracking_uri(uri)  # else MLflow's default store, ./mlflow.db, lands in the checkout
    return mlflow.genai.load_prompt(f"prompts:/{name}@{alias}", cache_ttl_seconds=0)


@pytest.fixture
def matrix(tmp_path: Path, prefix: str, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Matrix]:
    repo = init_repo(tmp_path / "repo")
    short = prefix.replace("-", "_")[-20:]
    for path, text in _files(short).items():
        repo.write(path, text)
    lock_and_commit(repo, "every kind of prompt")
    monkeypatch.setenv("PROMPTHOOKS_CACHE_TTL", "0")
    loader.reset()
    yield Matrix(repo, mlflow_server, short, tmp_path / "trees")
    loader.reset()


def _check(matrix: Matrix, step: str) -> None:
    uri, environment = matrix.server.uri, matrix.environment
    status = cli.run(matrix.repo.root, "status", environment, "--tracking-uri", uri)
    assert status.returncode == 0, f"{step}: {status.stdout}{status.stderr}"
    exported = json.loads(matrix.registry("export", "--env", environment, "--format", "json").stdout)["prompts"]
    assert set(exported) == {matrix.name(short) for short in PATHS}, f"{step}: export"
    loader.reset()  # each step reads afresh (a stale cached copy is served while it refreshes: the cache's own tests)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        for short, values in VALUES.items():
            name = matrix.name(short)
            theirs = _mlflow_version(uri, name, environment)
            tree = matrix.tree(theirs.tags["prompthooks_commit"])
            path = f"prompts/{name}{Path(PATHS[short]).suffix}"
            expected = _own_engine(tree, path, values)
            for served in (load(name, env=environment), load(name, version=theirs.tags["prompthooks_version"])):
                assert served.format(**values) == expected, f"{step}: {name} {served.version} ({served.source})"
                assert dict(served.model_config or {}) == dict(theirs.model_config or {}), f"{step}: {name} model_config"
            if not path.endswith(".prompt"):  # MLflow renders no Handlebars
                mlflow_renders = _as_mlflow_renders(theirs.template, expected) if path.endswith(".jinja2") else expected
                assert theirs.format(**values) == mlflow_renders, f"{step}: MLflow's format of {name}"
    finally:
        for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):  # mlflow.set_registry_uri exports the second
            os.environ.pop(variable, None)
    for short, values in VALUES.items():  # file mode: the deployed tree, pinned as export --ref pins it
        name = matrix.name(short)
        served = load(name, root=str(matrix.repo.root))
        expected = _own_engine(matrix.repo.root, f"prompts/{name}{Path(PATHS[short]).suffix}", values)
        assert served.source == "lock" and served.format(**values) == expected, f"{step}: {name} from the files"


def _edit(matrix: Matrix, path: str, old: str, new: str, message: str) -> str:
    target = matrix.repo.root / path
    target.write_text(target.read_text().replace(old, new))
    return lock_and_commit(matrix.repo, message)


@pytest.mark.every_backend
def test_every_kind_of_prompt_through_every_command(matrix: Matrix) -> None:
    env = matrix.environment
    first = matrix.repo.git("rev-parse", "HEAD").strip()
    assert cli.run(matrix.repo.root, "check").returncode == 0
    matrix.registry("sync")
    matrix.registry("deploy", env)
    _check(matrix, "deploy")
    for output in ("env", "dotenv", "json", "k8s"):
        for source in (["--env", env, "--tracking-uri", matrix.server.uri], ["--ref", "HEAD"]):
            text = matrix.run("export", "--format", output, *source).stdout
            assert all(matrix.name(short).upper().replace("-", "_") in text.upper() for short in VALUES), (output, source)
            if output == "k8s":
                assert yaml.safe_load(text)["kind"] == "ConfigMap"

    second = _edit(matrix, "prompts/_rules.j2", "Be concise.", "Be concise and kind.", "a fragment changes")
    matrix.registry("deploy", env)
    _check(matrix, "deploy of a fragment change")

    candidate = _edit(matrix, f"prompts/{matrix.name('plain')}.txt", "warmly", "very warmly", "a candidate")
    matrix.registry("deploy", env, "--ref", candidate, "--variant", "b", "--weight", "50")
    _check(matrix, "split")
    matrix.registry("deploy", env, "--promote", "b")
    _check(matrix, "promote")
    _edit(matrix, f"prompts/{matrix.name('notes')}.md", "Write notes", "Write short notes", "another candidate")
    matrix.registry("deploy", env, "--variant", "c", "--weight", "10")
    _check(matrix, "split again")
    matrix.registry("deploy", env, "--end-split")
    _check(matrix, "end-split")

    matrix.registry("rollback", env)
    _check(matrix, "rollback")
    matrix.registry("rollback", env, matrix.name("assistant"))
    _check(matrix, "rollback of one prompt")
    matrix.registry("rollback", env, "--ref", second)
    _check(matrix, "rollback --ref")
    oldest = json.loads(matrix.registry("deployments", env, "--json").stdout)[-1]["id"]
    matrix.registry("rollback", env, "--to", oldest)
    _check(matrix, "rollback --to")
    matrix.registry("rollback", env, "--ref", first)
    _check(matrix, "rollback --ref to the first commit")

    backfill = cli.run(matrix.repo.root, "sync", "--backfill", "--tracking-uri", matrix.server.uri)
    assert backfill.returncode in (0, 1), backfill.stderr
    _check(matrix, "backfill")
