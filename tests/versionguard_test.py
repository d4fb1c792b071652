"""Versions only grow: a prompt that leaves and returns, a revert, a rebase that kept one side of the lock."""

from __future__ import annotations

import pytest

from tests.helpers.hook import hook_commit, locked, run
from tests.helpers.repos import GitRepo


def test_a_deleted_and_readded_prompt_continues_above_its_highest_version(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/o.md", "one\n")
    hook_commit(capsys, repo)
    repo.write("prompts/o.md", "two\n")
    hook_commit(capsys, repo)
    assert locked(repo)["o"][0] == "1.0.1"
    repo.git("rm", "-q", "prompts/o.md")
    out = hook_commit(capsys, repo)
    assert "o: 1.0.1 removed (prompts/o.md)" in out
    assert '[retired]\no = "1.0.1"\n' in repo.read("prompts.lock").decode()
    repo.write("prompts/o.md", "three\n")
    out = hook_commit(capsys, repo)
    assert out.splitlines()[0] == "o: new 1.0.2 ('o' held versions up to 1.0.1 before; versions never restart, prompts/o.md)"
    assert "[retired]" not in repo.read("prompts.lock").decode()


def test_a_prompt_moved_out_of_the_matched_folders_and_back(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/o.md", "---\nversion: 2.0.0\n---\none\n")
    hook_commit(capsys, repo)
    repo.git("mv", "prompts", "drafts")  # outside the default include
    hook_commit(capsys, repo)
    repo.write("drafts/o.md", "---\nversion: 2.0.0\n---\nchanged while away\n")
    repo.commit()
    repo.git("mv", "drafts", "prompts")
    hook_commit(capsys, repo)
    assert locked(repo)["o"][0] == "2.0.1"
    assert b"version: 2.0.1" in repo.read("prompts/o.md")


def test_a_renamed_prompt_frees_its_old_name_only_upwards(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/old.md", "---\nversion: 1.3.0\n---\nx\n")
    hook_commit(capsys, repo)
    repo.git("mv", "prompts/old.md", "prompts/new.md")
    hook_commit(capsys, repo)
    assert locked(repo)["new"][0] == "1.3.0"
    repo.write("prompts/old.md", "a new prompt under the old name\n")
    hook_commit(capsys, repo)
    assert locked(repo)["old"][0] == "1.3.1"


def test_git_revert_of_a_bump_moves_forward(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "---\nname: a\n---\nHello\n")
    hook_commit(capsys, repo)
    first = locked(repo)["a"]
    repo.write("prompts/a.md", repo.read("prompts/a.md").replace(b"Hello", b"Hello there"))
    hook_commit(capsys, repo)
    repo.git("revert", "--no-edit", "HEAD")  # commits without the hook: the old front matter (1.0.0) and the old lock
    assert run(capsys, "check")[0] == 1  # 1.0.0 after 1.0.1: versions only grow
    out = hook_commit(capsys, repo)
    assert out.splitlines()[0] == "a: 1.0.0 -> 1.0.2 ('a' held 1.0.1 before; versions only grow (a revert?), prompts/a.md)"
    assert locked(repo)["a"] == ("1.0.2", first[1])  # one content, two versions; never one version, two contents
    assert b"version: 1.0.2" in repo.read("prompts/a.md")
    assert run(capsys, "diff", "--check-bumps", "HEAD~2", "HEAD")[0] == 0


def test_a_revert_through_the_hook_moves_forward_too(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "---\nname: a\n---\nHello\n")
    hook_commit(capsys, repo)
    repo.write("prompts/a.md", repo.read("prompts/a.md").replace(b"Hello", b"Hello there"))
    hook_commit(capsys, repo)
    repo.git("revert", "--no-commit", "HEAD")  # the front matter says 1.0.0 again: not an error
    out = hook_commit(capsys, repo)
    assert out.splitlines()[0] == "a: 1.0.1 -> 1.0.2 (patch, prompts/a.md)"


def test_a_hand_lowered_version_is_still_an_error(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "---\nversion: 1.2.0\n---\nx\n")
    hook_commit(capsys, repo)
    repo.write("prompts/a.md", "---\nversion: 1.1.0\n---\nnever locked\n")
    code, _, err = run(capsys, "lock")
    assert code == 1
    assert "version 1.1.0 is lower than the locked 1.2.0" in err


def test_lock_repairs_a_rebase_that_kept_one_side_of_the_lock(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/o.txt", "base\n")
    hook_commit(capsys, repo)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/o.txt", "feature\n")
    hook_commit(capsys, repo, "feature")
    repo.git("checkout", "-q", "main")
    repo.write("prompts/o.txt", "main\n")
    hook_commit(capsys, repo, "main")
    main_hash = locked(repo)["o"][1]
    repo.git("checkout", "-q", "feature")
    assert repo.git("rebase", "main", check=False) is not None
    repo.git("checkout", "--theirs", "prompts.lock", "prompts/o.txt")  # theirs = the feature commit being replayed
    repo.git("add", "-A")
    repo.git("-c", "core.editor=true", "rebase", "--continue")
    assert locked(repo)["o"][0] == "1.0.1" and locked(repo)["o"][1] != main_hash  # 1.0.1 now names two contents
    code, out, _ = run(capsys, "check", "--base", "main")
    assert code == 1
    assert "o 1.0.1 is" in out and "rebase onto main and rerun `prompthooks lock`" in out
    code, out, _ = run(capsys, "lock")
    assert code == 1
    assert out.splitlines()[0].startswith("o: 1.0.1 -> 1.0.2 (1.0.1 already named other content")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--amend", "--no-edit", "--no-verify")
    assert run(capsys, "check", "--base", "main") == (0, "", "")
