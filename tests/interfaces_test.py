"""The true interface of every format: declared inputs win, bodies are read with their own grammar."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompthooks import promptfile
from tests.helpers.hook import lock_twice, write_locked
from tests.helpers.repos import GitRepo

CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize(
    ("name", "required", "optional"),
    [
        ("travel.prompt", ("days", "destination", "traveller"), ("budget", "interests")),
        ("describe_media.prompt", ("audience", "keywords", "language", "scenes", "videoUrl"), ("focus",)),
        ("_signature.prompt", ("assistantName",), ()),
        ("classify.prompt", ("ticket",), ("labels", "language")),
        ("intent.prompty", ("question",), ("history", "tone")),
        ("undeclared.prompty", ("topic",), ("customer", "persona")),
        ("guarded.jinja2", ("name",), ("extra", "greeting", "signature")),
    ],
)
def test_corpus_interfaces(name: str, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    file = promptfile.read((CORPUS / f"{name}.txt").read_bytes(), f"prompts/{name}")
    assert (file.variables, file.optional) == (required, optional)


def test_a_partials_variables_are_the_prompts_too(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, {f"prompts/{name}": (CORPUS / f"{name}.txt").read_text() for name in ("describe_media.prompt", "_signature.prompt")})
    table = repo.read("prompts.lock").decode().split("[prompts.describe_media]")[1].split("\n[")[0]
    assert 'variables = [\n    "assistantName",\n    "audience",' in table
    assert 'optional = [\n    "focus",\n]' in table
    assert 'dependencies = [\n    "prompts/_signature.prompt",\n]' in table


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("Hi {{ name }}", "Hi {{ name }} {{ title | default('') }}", "1.0.0 -> 1.1.0 (minor: adds optional variable title"),
        ("Hi {{ name }} {{ title | default('') }}", "Hi {{ name }} {{ title }}", "1.0.0 -> 2.0.0 (major: makes optional variable title required"),
        ("Hi {{ name }} {% if title is defined %}{{ title }}{% endif %}", "Hi {{ name }}", "1.0.0 -> 1.1.0 (minor: removes variable title"),
        ("Hi {{ name }}", "Hi {{ name }} {{ title }}", "1.0.0 -> 2.0.0 (major: adds variable title"),
    ],
)
def test_optional_variables_follow_semver(repo: GitRepo, capsys: pytest.CaptureFixture[str], before: str, after: str, expected: str) -> None:
    write_locked(capsys, repo, {"prompts/a.jinja2": before + "\n"})
    repo.write("prompts/a.jinja2", after + "\n")
    assert f"a: {expected}" in lock_twice(capsys, repo)


def test_an_else_branch_in_dotprompt_is_no_interface_change(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    write_locked(capsys, repo, {"prompts/a.prompt": "{{#if urgent}}Now {{name}}{{/if}}\n"})
    repo.write("prompts/a.prompt", "{{#if urgent}}Now {{name}}{{else}}Later{{/if}}\n")
    assert "a: 1.0.0 -> 1.0.1 (patch, prompts/a.prompt)" in lock_twice(capsys, repo)


def test_a_declared_optional_input_is_minor(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    header = "---\nmodel: googleai/gemini-2.0-flash\ninput:\n  schema:\n    text: string\n"
    write_locked(capsys, repo, {"prompts/a.prompt": header + "---\n{{text}}\n"})
    repo.write("prompts/a.prompt", header + "    analysisType?: string\n---\n{{text}} {{analysisType}}\n")
    assert "a: 1.0.0 -> 1.1.0 (minor: adds optional variable analysisType" in lock_twice(capsys, repo)
