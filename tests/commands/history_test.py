from __future__ import annotations

import json
from pathlib import Path

import pytest

from prompthooks.main import main
from tests.conftest import GitRepo
from tests.history_fixture import ASSISTANT_V1, build_history


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GitRepo, list[str]]:
    repo, commits = build_history(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    return repo, commits


def test_log_lists_versions_newest_first(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, commits = history
    assert main(["log", "assistant"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["2.1.0", "2.0.0", "1.0.0"]
    assert lines[0].endswith("2026-01-05  Prompt Tester: Drop the tone")
    assert commits[4][:10] in lines[0] and commits[1][:10] in lines[1] and commits[0][:10] in lines[2]


def test_log_json_and_renames(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, commits = history
    assert main(["log", "summary", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["version"], r["path"], r["commit"], r["subject"]) for r in records] == [
        ("1.0.1", "prompts/digest.md", commits[2], "Rename the summary prompt"),
        ("1.0.0", "prompts/summary.md", commits[0], "Add prompts"),
    ]
    assert records[0]["author"] == "Prompt Tester" and records[0]["date"].startswith("2026-01-03")


def test_log_of_a_deleted_prompt_and_an_older_ref(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "old"]) == 0
    assert capsys.readouterr().out.split()[0] == "1.0.0"
    assert main(["log", "assistant", "--ref", "HEAD~3"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["2.0.0", "1.0.0"]


def test_show_prints_the_committed_bytes(history: tuple[GitRepo, list[str]], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    repo, _ = history
    assert main(["show", "assistant@1.0.0"]) == 0
    assert capsysbinary.readouterr().out == ASSISTANT_V1.replace("name: assistant\n", "name: assistant\nversion: 1.0.0\n").encode()
    repo.write("prompts/digest.md", "uncommitted edit\n")
    assert main(["show", "summary"]) == 0
    assert capsysbinary.readouterr().out == repo.git("show", "HEAD:prompts/digest.md").encode()
    assert main(["show", "summary@1.0.0"]) == 0
    assert capsysbinary.readouterr().out == b"---\nname: summary\nversion: 1.0.0\n---\nSummarise {{ text }}.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "assistant@9.9.9"], "prompthooks: error: assistant has no version 9.9.9 (known: 2.1.0, 2.0.0, 1.0.0)\n"),
        (["show", "nope"], "prompthooks: error: unknown prompt 'nope' (known: assistant, summary)\n"),
        (["log", "nope"], "prompthooks: error: unknown prompt 'nope' (known: assistant, summary)\n"),
    ],
)
def test_unknown_names_and_versions(history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(args) == 1
    assert capsys.readouterr().err == message
