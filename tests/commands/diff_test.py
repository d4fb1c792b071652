from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from prompthooks.main import main
from tests.helpers.repos import GitRepo

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

VERSION_SCHEMA = {
    "type": ["object", "null"],
    "required": ["path", "version", "hash", "variables"],
    "properties": {
        "path": {"type": "string"},
        "version": {"type": "string"},
        "hash": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "variables": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}
DIFF_SCHEMA = {
    "type": "object",
    "required": ["base", "target", "prompts"],
    "additionalProperties": False,
    "properties": {
        "base": {"type": "string"},
        "target": {"type": "string"},
        "prompts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "status", "old", "new", "bump", "required_bump", "bump_too_small", "reason",
                             "variables_added", "variables_removed", "front_matter", "diff", "dependencies_changed"],
                "properties": {
                    "name": {"type": "string"},
                    "status": {"enum": ["added", "removed", "renamed", "changed"]},
                    "old": VERSION_SCHEMA,
                    "new": VERSION_SCHEMA,
                    "bump": {"enum": [None, "none", "patch", "minor", "major"]},
                    "required_bump": {"enum": [None, "none", "patch", "minor", "major"]},
                    "bump_too_small": {"type": "boolean"},
                    "reason": {"type": "string"},
                    "variables_added": {"type": "array", "items": {"type": "string"}},
                    "variables_removed": {"type": "array", "items": {"type": "string"}},
                    "front_matter": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["key", "old", "new"],
                            "properties": {"key": {"type": "string"}, "old": {"type": ["string", "null"]}, "new": {"type": ["string", "null"]}},
                        },
                    },
                    "diff": {"type": "string"},
                    "dependencies_changed": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["path", "diff"],
                            "additionalProperties": False,
                            "properties": {"path": {"type": "string"}, "diff": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PROMPTHOOKS_UPDATE_GOLDEN"):
        path.write_text(actual)
    assert actual == path.read_text()


@pytest.mark.parametrize(("output", "golden"), [("text", "diff.txt"), ("markdown", "diff.md")])
def test_golden_output(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str], output: str, golden: str) -> None:
    _, commits = history
    assert main(["diff", commits[0], commits[4], "--format", output]) == 0
    _golden(golden, capsys.readouterr().out)


def test_json_matches_the_schema(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, commits = history
    assert main(["diff", commits[0], "HEAD", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, DIFF_SCHEMA)
    by_name = {prompt["name"]: prompt for prompt in document["prompts"]}
    assert {name: prompt["status"] for name, prompt in by_name.items()} == {"assistant": "changed", "old": "removed", "summary": "changed"}
    assert by_name["assistant"]["variables_added"] == ["facts"]
    assert (by_name["assistant"]["old"]["version"], by_name["assistant"]["new"]["version"], by_name["assistant"]["bump"]) == ("1.0.0", "2.1.0", "major")
    assert by_name["summary"]["old"]["path"] == "prompts/summary.md" and by_name["summary"]["new"]["path"] == "prompts/digest.md"


def test_each_step_of_the_history(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, commits = history
    expected = [
        ("changed assistant (prompts/assistant.jinja2): 1.0.0 -> 2.0.0 [major]", "  variables added: facts, tone"),
        ("changed summary (prompts/summary.md -> prompts/digest.md): 1.0.0 -> 1.0.1 [patch]", None),
        ("removed old (prompts/old.md): 1.0.0 removed", None),
        ("changed assistant (prompts/assistant.jinja2): 2.0.0 -> 2.1.0 [minor]", "  variables removed: tone"),
    ]
    for (before, after), (headline, detail) in zip(zip(commits[:-1], commits[1:], strict=True), expected, strict=True):
        assert main(["diff", before, after]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[2] == headline
        if detail:
            assert lines[3] == detail


def test_working_tree_and_default_base(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    repo, commits = history
    repo.write("prompts/new.md", "Brand new {{ x }}\n")
    repo.git("add", "prompts/new.md")
    assert main(["diff"]) == 0  # on main itself: against HEAD~1
    out = capsys.readouterr().out
    assert out.startswith(f"2 prompt(s) changed between {commits[3][:12]} and working tree")
    assert "added new (prompts/new.md): new 1.0.0" in out
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/digest.md", repo.read("prompts/digest.md") + b"More.\n")
    repo.commit("feature work")
    assert main(["diff"]) == 0  # on a branch: against the merge-base with main
    assert capsys.readouterr().out.startswith(f"2 prompt(s) changed between {commits[4][:12]} and working tree")


def test_check_bumps(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = history
    assert main(["diff", "HEAD~1", "HEAD", "--check-bumps"]) == 0
    capsys.readouterr()
    # a commit that adds a variable but bypassed the hook with a hand-written patch bump
    text = repo.read("prompts/assistant.jinja2").decode().replace("version: 2.1.0", "version: 2.1.1") + "Sign as {{ signature }}.\n"
    repo.write("prompts/assistant.jinja2", text)
    assert main(["lock", "--no-cache"]) == 1  # the hook raises it to 3.0.0 and says why
    assert "assistant: 2.1.0 -> 3.0.0 (major: adds variable signature, so 2.1.1 from the front matter was too small" in capsys.readouterr().out
    for path in ("prompts/assistant.jinja2", "prompts.lock"):  # then someone forces 2.1.1 by hand
        repo.write(path, repo.read(path).replace(b"3.0.0", b"2.1.1"))
    assert main(["check"]) == 1  # before the commit (pre-commit, pre-push)
    assert "the prompt needs 3.0.0 (major: adds variable signature" in capsys.readouterr().out
    repo.commit("bypass")  # --no-verify: after it, only a diff against the base can tell
    assert main(["diff", "HEAD~1", "HEAD", "--check-bumps"]) == 1
    captured = capsys.readouterr()
    assert "[patch, too small: needs major (adds variable signature)]" in captured.out
    assert captured.err == "prompts/assistant.jinja2: assistant 2.1.0 -> 2.1.1 is a patch bump, the change needs major (adds variable signature)\n"


@pytest.fixture
def composed(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> tuple[GitRepo, list[str]]:
    """assistant includes _rules.j2; the second commit changes only the fragment."""
    repo.write("prompts/assistant.jinja2", "{#\nname: assistant\n#}\n{% include '_rules.j2' %}\nAnswer {{ question }}.\n")
    repo.write("prompts/_rules.j2", "Be kind.\n")
    commits = []
    for rules in (None, "Be kind and brief.\n"):
        if rules:
            repo.write("prompts/_rules.j2", rules)
        repo.git("add", "-A")
        main(["lock", "--no-cache"])
        repo.git("add", "-A")
        commits.append(repo.commit())
    capsys.readouterr()
    return repo, commits


def test_a_bump_caused_by_a_dependency_names_it(composed: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    """The hook said "dependency prompts/_rules.j2 changed"; diff says it too, and markdown shows the fragment's diff."""
    repo, (before, after) = composed
    assert main(["diff", before, after]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "changed assistant (prompts/assistant.jinja2): 1.0.0 -> 1.0.1 [patch, dependency prompts/_rules.j2 changed]"
    assert main(["diff", before, after, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "| `assistant` | changed | 1.0.0 → 1.0.1 | patch, dependency `prompts/_rules.j2` changed |" in markdown
    assert "\n".join(["```diff", "--- a/prompts/_rules.j2", "+++ b/prompts/_rules.j2", "@@ -1 +1 @@", "-Be kind.", "+Be kind and brief.", "```"]) in markdown
    assert main(["diff", before, after, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, DIFF_SCHEMA)
    [assistant] = document["prompts"]
    assert assistant["reason"] == "dependency prompts/_rules.j2 changed"
    assert [dependency["path"] for dependency in assistant["dependencies_changed"]] == ["prompts/_rules.j2"]
    repo.write("prompts/_rules.j2", "Be kind, brief and exact.\n")  # the working tree, versioned as lock would
    repo.write("prompts/assistant.jinja2", repo.read("prompts/assistant.jinja2") + b"Thanks.\n")
    assert main(["diff", after]) == 0
    assert capsys.readouterr().out.splitlines()[2] == (
        "changed assistant (prompts/assistant.jinja2): 1.0.1 -> 1.0.2 [patch, content and dependency prompts/_rules.j2 changed]"
    )
