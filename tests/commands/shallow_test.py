"""History commands on a shallow clone (`git clone --depth 1`, as actions/checkout does) and on a repository without commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompthooks.main import main
from testing.mlflow_server import MlflowServer
from tests.helpers import cli
from tests.helpers.history import build_history
from tests.helpers.repos import GitRepo, init_repo

FIX = "run `git fetch --unshallow` (GitHub Actions: actions/checkout with `fetch-depth: 0`)"


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo, _ = build_history(tmp_path_factory.mktemp("origin") / "repo")
    return repo


@pytest.fixture
def shallow(origin: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    clone = GitRepo(tmp_path / "clone")
    origin.git("clone", "-q", "--depth", "1", f"file://{origin.root}", str(clone.root))
    assert clone.git("rev-parse", "--is-shallow-repository").strip() == "true"
    monkeypatch.chdir(clone.root)
    return clone


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["log", "assistant"], f"prompthooks: error: this is a shallow clone, so its git history is cut short; `prompthooks log` needs all of it: {FIX}"),
        (["show", "assistant@1.0.0"], "`prompthooks show` needs all of it"),
        (["show", "assistant"], "`prompthooks show` needs all of it"),
        (["diff"], "this is a shallow clone, so the base of this branch is not known; name it (`prompthooks diff BASE`) or " + FIX),
        (["diff", "HEAD~1"], "unknown git revision 'HEAD~1': this is a shallow clone, so older commits are missing; " + FIX),
        (["diff", "HEAD~1", "HEAD"], "unknown git revision 'HEAD~1': this is a shallow clone"),
        (["sync", "--backfill", "--dry-run"], "`prompthooks sync --backfill` needs all of it"),
    ],
)
def test_history_commands_refuse_a_shallow_clone(
    shallow: GitRepo, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == 1
    assert message in _one_line_error(capsys)


def test_diff_of_commits_a_shallow_clone_has_works(shallow: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "HEAD", "HEAD"]) == 0
    assert capsys.readouterr().out.startswith("0 prompt(s) changed between")
    assert main(["diff", "HEAD"]) == 0  # HEAD against the working tree


def test_lock_check_and_plain_sync_work_on_a_shallow_clone(
    shallow: GitRepo, capsys: pytest.CaptureFixture[str], mlflow_server: MlflowServer
) -> None:
    assert main(["check", "--no-cache"]) == 0
    assert main(["lock", "--no-cache"]) == 0
    before = shallow.snapshot()
    shallow.write("prompts/digest.md", shallow.read("prompts/digest.md") + b"Be brief.\n")
    shallow.git("add", "-A")
    assert main(["check", "--no-cache"]) == 1
    assert main(["lock", "--no-cache"]) == 1
    assert "summary: 1.0.1 -> 1.0.2 (patch, prompts/digest.md)" in capsys.readouterr().out
    shallow.git("add", "-A")  # the lock must be staged as written (issue 7, item 7)
    assert main(["lock", "--no-cache"]) == 0
    shallow.write("prompts/digest.md", shallow.read("prompts/digest.md").replace(b"name: summary", b"name: shallow_summary"))
    shallow.write("prompts/assistant.jinja2", shallow.read("prompts/assistant.jinja2").replace(b"name: assistant", b"name: shallow_assistant"))
    shallow.git("add", "-A")
    assert main(["lock", "--no-cache"]) == 1  # registry names of their own on the shared test server
    shallow.commit("edit")
    assert main(["check", "--no-cache"]) == 0
    assert set(shallow.snapshot()) == set(before)
    result = cli.run(shallow.root, "sync", "--tracking-uri", mlflow_server.uri)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("prompthooks sync: 2 registered, 0 skipped, 0 conflict(s)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diff", "no-such-branch"], "prompthooks: error: unknown git revision 'no-such-branch'\n"),
        (["diff", "HEAD", "v9"], "prompthooks: error: unknown git revision 'v9'\n"),
        (["log", "assistant", "--ref", "nope"], "prompthooks: error: unknown git revision 'nope'\n"),
        (["sync", "--ref", "nope", "--dry-run"], "prompthooks: error: unknown git revision 'nope'\n"),
    ],
)
def test_a_revision_that_does_not_exist_is_one_line(
    origin: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    monkeypatch.chdir(origin.root)
    assert main(args) == 1
    assert _one_line_error(capsys) == message


@pytest.mark.parametrize("args", [["diff"], ["diff", "HEAD~1"], ["log", "a"], ["show", "a"], ["sync", "--dry-run"], ["sync", "--backfill"]])
def test_a_repository_without_commits_says_so(repo: GitRepo, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    repo.write("prompts/a.md", "Hello {{ x }}\n")
    repo.git("add", "-A")
    assert main(args) == 1
    err = _one_line_error(capsys)
    assert "this repository has no commits yet" in err and "commit first" in err
    assert "unknown git revision" not in err


def test_diff_on_the_first_commit_asks_for_a_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = init_repo(tmp_path / "one")
    repo.write("prompts/a.md", "Hello\n")
    repo.commit("first")
    monkeypatch.chdir(repo.root)
    assert main(["diff"]) == 1
    assert "HEAD is the first commit, so there is no earlier one to compare with; name a BASE revision" in _one_line_error(capsys)
