from __future__ import annotations

import json

import pytest

from prompthooks.main import main
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.history import ASSISTANT_V1, CAUSES
from tests.helpers.repos import GitRepo


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


def _skipped_warning(err: str, commit: str) -> None:
    assert "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith(f"{commit[:12]}:prompts.lock:")
    assert any(cause in line for cause in CAUSES.values())
    assert line.endswith("skipped this commit's lock (committed unreadable, e.g. with --no-verify)")


def test_log_and_show_skip_an_unreadable_lock_in_history(broken_history: tuple[GitRepo, list[str]], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    capsys = capsysbinary
    _, commits = broken_history
    assert main(["log", "a"]) == 0
    out, err = (text.decode() for text in capsys.readouterr())
    assert [line.split()[0] for line in out.splitlines()] == ["1.0.2", "1.0.1", "1.0.0"]
    assert commits[1][:10] in out.splitlines()[1]
    _skipped_warning(err, commits[2])
    assert main(["log", "b", "--json"]) == 0
    out, err = (text.decode() for text in capsys.readouterr())
    assert [record["version"] for record in json.loads(out)] == ["1.0.0"]
    assert main(["show", "a@1.0.1"]) == 0
    assert capsys.readouterr().out == b"Two {{ x }}\n"


def test_diff_across_an_unreadable_lock(broken_history: tuple[GitRepo, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, commits = broken_history
    assert main(["diff", commits[0], commits[4], "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(p["name"], p["old"]["version"], p["new"]["version"]) for p in document["prompts"]] == [("a", "1.0.0", "1.0.2")]
    assert main(["diff", commits[2], commits[4]]) == 1  # an end of the range is the broken lock itself: one line naming it
    err = capsys.readouterr().err
    assert err.startswith(f"{commits[2][:12]}:prompts.lock:") and any(cause in err for cause in CAUSES.values()) and len(err.splitlines()) == 1


def test_backfill_skips_an_unreadable_lock(broken_history: tuple[GitRepo, list[str]], mlflow_server: MlflowServer) -> None:
    repo, commits = broken_history
    result = cli.run(repo.root, "sync", "--backfill", "--dry-run", "--tracking-uri", mlflow_server.uri)
    assert result.returncode == 0, result.stderr
    assert [line.split()[:3] for line in result.stdout.splitlines()[:-1]] == [
        ["would-register", "a", "1.0.0"], ["would-register", "b", "1.0.0"], ["would-register", "a", "1.0.1"], ["would-register", "a", "1.0.2"]
    ]
    _skipped_warning(result.stderr, commits[2])
