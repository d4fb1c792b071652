"""`prompthooks check --base REF`: a version the target branch gave other content is caught before the merge."""

from __future__ import annotations

import subprocess
import sys

import pytest

from prompthooks import lockfile
from tests.helpers.hook import hook_commit, locked, run
from tests.helpers.repos import GitRepo


def locked_at(repo: GitRepo, ref: str) -> dict[str, tuple[str, str]]:
    raw = repo.git("show", f"{ref}:prompts.lock").encode()
    return {name: (entry.version, entry.hash) for name, entry in lockfile.parse(raw, "prompts.lock").items()}


def diverge(capsys: pytest.CaptureFixture[str], repo: GitRepo) -> None:
    """main and feature each bump o from 1.0.0 to 1.0.1, with other content."""
    repo.write("prompts/o.txt", "base\n")
    repo.write("prompts/p.txt", "p\n")
    hook_commit(capsys, repo)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/o.txt", "feature\n")
    hook_commit(capsys, repo, "feature")
    repo.git("checkout", "-q", "main")
    repo.write("prompts/o.txt", "main\n")
    hook_commit(capsys, repo, "main")
    repo.git("checkout", "-q", "feature")


def test_a_version_the_base_gave_other_content(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    diverge(capsys, repo)
    assert run(capsys, "check") == (0, "", "")  # alone, the branch is consistent
    code, out, err = run(capsys, "check", "--base", "main")
    assert (code, err) == (1, "")
    assert out.startswith("prompts/o.txt: o 1.0.1 is sha256:")
    assert out.endswith("in main's lock history; rebase onto main and rerun `prompthooks lock`\n")
    assert out.count("\n") == 1


def test_a_version_below_the_base(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    diverge(capsys, repo)
    repo.git("checkout", "-q", "main")
    repo.write("prompts/o.txt", "main, again\n")
    hook_commit(capsys, repo, "main 1.0.2")
    repo.git("checkout", "-q", "feature")
    repo.write("prompts/o.txt", "---\nversion: 1.0.1\n---\nfeature, again\n")
    code, out, _ = run(capsys, "check", "--base", "main")
    assert code == 1
    assert "prompts/o.txt: o 1.0.1 is" in out


def test_untouched_prompts_and_a_base_that_moved_on_are_fine(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/o.txt", "base\n")
    repo.write("prompts/p.txt", "p\n")
    hook_commit(capsys, repo)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/p.txt", "p, on the feature\n")
    hook_commit(capsys, repo, "feature")
    repo.git("checkout", "-q", "main")
    repo.write("prompts/o.txt", "main\n")
    hook_commit(capsys, repo, "main")
    repo.git("rm", "-q", "prompts/o.txt")
    hook_commit(capsys, repo, "main removes o")
    repo.git("checkout", "-q", "feature")
    assert run(capsys, "check", "--base", "main") == (0, "", "")


def test_a_rebase_that_keeps_one_side_is_caught_then_fixed_by_lock(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    diverge(capsys, repo)
    main_hash = locked_at(repo, "main")["o"][1]
    assert repo.git("rebase", "main", check=False) is not None  # conflicts in prompts.lock and prompts/o.txt
    repo.git("checkout", "--theirs", "prompts.lock", "prompts/o.txt")  # keep the feature's side of both
    repo.git("add", "-A")
    repo.git("-c", "core.editor=true", "rebase", "--continue")
    assert locked(repo)["o"][0] == "1.0.1" and locked(repo)["o"][1] != main_hash  # the feature's 1.0.1 on top of main's
    code, out, _ = run(capsys, "check", "--base", "main")
    assert code == 1
    assert "prompts/o.txt: o 1.0.1 is sha256:" in out and "rebase onto main and rerun `prompthooks lock`" in out
    code, out, _ = run(capsys, "lock")
    assert code == 1 and "o: 1.0.1 -> 1.0.2" in out
    repo.git("add", "-A")
    repo.git("commit", "-q", "--amend", "--no-edit", "--no-verify")  # into the rebased commit: no 1.0.1 twice left in history
    assert run(capsys, "check", "--base", "main") == (0, "", "")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "feature")
    assert run(capsys, "check") == (0, "", "")


def test_an_unknown_base_is_one_line(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/o.txt", "base\n")
    hook_commit(capsys, repo)
    code, out, err = run(capsys, "check", "--base", "origin/nope")
    assert (code, out) == (1, "")
    assert err == "prompthooks: error: unknown git revision 'origin/nope' for --base (in CI, fetch it first: git fetch origin <branch>)\n"


def test_a_collision_left_in_the_branch_history_is_caught(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    diverge(capsys, repo)  # the feature's o 1.0.1 differs from main's
    repo.git("rm", "-q", "prompts/o.txt")
    hook_commit(capsys, repo, "feature drops o")  # the tip holds no o, its history still does
    code, out, _ = run(capsys, "check", "--base", "main")
    assert code == 1
    assert out.startswith("prompts.lock: o 1.0.1 named sha256:")
    assert "in this branch's history but sha256:" in out and "in main's; rebase onto main and rerun `prompthooks lock` (at every commit" in out
    # The fix it names: replay the branch with the hook at every commit.
    command = f"{sys.executable} -m prompthooks lock --quiet; git add -A; git commit -q --amend --no-edit --no-verify"
    result = subprocess.run(["git", "rebase", "-X", "theirs", "--exec", command, "main"], cwd=repo.root, capture_output=True, text=True)
    if result.returncode != 0:  # o was changed on main and deleted here: keep the deletion
        repo.git("rm", "-q", "--ignore-unmatch", "prompts/o.txt")
        subprocess.run(["git", "-c", "core.editor=true", "rebase", "--continue"], cwd=repo.root, capture_output=True, check=False)
    assert not (repo.root / ".git" / "rebase-merge").exists()
    assert run(capsys, "check", "--base", "main") == (0, "", "")
