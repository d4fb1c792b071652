"""Versions only grow: a prompt that leaves and returns, a revert, a rebase that kept one side of the lock."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from prompthooks import git, lockfile, versionguard
from prompthooks.cache import Cache
from prompthooks.git import clean_environment
from testing import synthetic
from tests.helpers.hook import hook_commit, locked, run
from tests.helpers.repos import GitRepo, counting


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


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 commits touching the lock on main; a branch forked 50 commits back, with 3 of its own."""
    root = tmp_path_factory.mktemp("history") / "origin"
    synthetic.build_history(root, 25, 300, fork_back=50, fork_commits=3)
    return root


def _clone_main(origin: Path, target: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    subprocess.run(["git", "clone", "-q", "--no-local", str(origin), str(target)], check=True, env=clean_environment())
    monkeypatch.chdir(target)
    return GitRepo(target)


def _clone(origin: Path, target: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    clone = _clone_main(origin, target, monkeypatch)
    clone.git("branch", "-q", "feature", "origin/feature")
    return clone


def _blobs_read(packed: list[Any], read: list[Any]) -> list[str]:
    """The blob ids the history walk asked git for (other reads name revisions, like ``HEAD:prompts.lock``)."""
    named = [name for call in read for name in call[1] if re.fullmatch(r"[0-9a-f]{40}", name)]
    return [*(blob for call in packed for blob in call[1]), *named]


def _lock_blobs(repo: GitRepo, *revisions: str) -> set[str]:
    return {line.split()[3] for line in repo.git("log", "--format=", "--raw", "--no-abbrev", *revisions, "--", "prompts.lock").splitlines()}


def _reference(repo: GitRepo, revision: str) -> dict[str, dict[str, set[str]]]:
    """Every (name, version, hash) of every lock ``revision`` reaches, each lock parsed whole."""
    found: dict[str, dict[str, set[str]]] = {}
    for commit in repo.git("rev-list", revision, "--", "prompts.lock").split():
        raw = subprocess.run(["git", "show", f"{commit}:prompts.lock"], cwd=repo.root, capture_output=True, check=True).stdout
        for name, entry in lockfile.parse(raw, commit).items():
            found.setdefault(name, {}).setdefault(entry.version, set()).add(entry.hash)
    return found


def _summarized(repo: GitRepo, revision: str) -> dict[str, dict[str, set[str]]]:
    commit = repo.git("rev-parse", revision).strip()
    summary = versionguard.summary(str(repo.root), "prompts.lock", commit, Cache(str(repo.root / ".git" / "prompthooks")))
    return {name: {version: set(hashes) for version, hashes in versions.items()} for name, versions in summary.hashes.items()}


def test_a_fresh_clone_reads_each_version_of_the_lock_once(long_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clone = _clone(long_history, tmp_path / "clone", monkeypatch)
    versionguard._MEMO.clear()
    packed = counting(monkeypatch, git, "pack_blobs")
    read = counting(monkeypatch, git, "read_objects")
    assert run(capsys, "check") == (0, "", "")
    blobs = _blobs_read(packed, read)
    assert sorted(blobs) == sorted(_lock_blobs(clone, "HEAD"))  # every version once, nothing else
    assert _summarized(clone, "HEAD") == _reference(clone, "HEAD")


def test_a_branch_switch_reads_only_the_commits_between_it_and_a_summarized_commit(
    long_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = _clone(long_history, tmp_path / "clone", monkeypatch)
    versionguard._MEMO.clear()
    assert run(capsys, "lock") == (0, "", "")  # a warm run on main
    versionguard._MEMO.clear()  # the next run is another process: only what is kept under .git counts
    main_commit = clone.git("rev-parse", "main").strip()
    clone.git("checkout", "-q", "feature")
    fork = clone.git("merge-base", "main", "feature").strip()
    clone.write(synthetic.prompt_path(7), clone.read(synthetic.prompt_path(7)) + b"One more line.\n")
    walked = counting(monkeypatch, git, "file_steps")
    packed = counting(monkeypatch, git, "pack_blobs")
    read = counting(monkeypatch, git, "read_objects")
    code, out, _ = run(capsys, "lock")
    assert code == 1 and out.startswith("prompt_00007: ")
    assert [call[1] for call in walked] == [[clone.git("rev-parse", "feature").strip(), f"^{main_commit}"]]
    between = _lock_blobs(clone, "feature", "^main")
    assert len(between) == 3 and sorted(_blobs_read(packed, read)) == sorted([*between, *_lock_blobs(clone, "-1", fork)])
    assert _summarized(clone, "feature") == _reference(clone, "feature")
    clone.git("add", "-A")
    clone.commit("the edit")
    versionguard._MEMO.clear()
    walked.clear()
    assert run(capsys, "check") == (0, "", "")  # on top of a summarized commit: no history read
    assert walked == []
    assert _summarized(clone, "HEAD") == _reference(clone, "HEAD")


def test_check_base_summarizes_the_base_from_heads_summary_even_without_a_cache(
    long_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = _clone(long_history, tmp_path / "clone", monkeypatch)
    clone.git("checkout", "-q", "feature")
    versionguard._MEMO.clear()
    walked = counting(monkeypatch, git, "file_steps")
    run(capsys, "check", "--no-cache", "--base", "main")
    main_commit, feature_commit = (clone.git("rev-parse", branch).strip() for branch in ("main", "feature"))
    assert [call[1] for call in walked] == [[feature_commit], [main_commit, f"^{feature_commit}"]]  # the base: only its own commits
    assert _summarized(clone, "main") == _reference(clone, "main")


def test_a_fresh_clone_of_many_prompts_reads_the_history_while_it_reads_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    origin = tmp_path / "origin"
    synthetic.build_history(origin, 1000, 30)
    clone = _clone_main(origin, tmp_path / "clone", monkeypatch)
    versionguard._MEMO.clear()
    walked_here = counting(monkeypatch, versionguard, "_walked")
    assert run(capsys, "check") == (0, "", "")
    assert walked_here == []  # the child read it
    assert (clone.root / ".git" / "prompthooks" / f"history-{clone.git('rev-parse', 'HEAD').strip()}").exists()  # and kept it
    assert _summarized(clone, "HEAD") == _reference(clone, "HEAD")  # handed over by it


def _kept_files(repo: GitRepo) -> list[str]:
    return sorted(path.name for path in (repo.root / ".git" / "prompthooks").glob(versionguard.CACHE_PREFIX + "*"))


def _commits_changing_no_prompt(capsys: pytest.CaptureFixture[str], repo: GitRepo, count: int) -> None:
    for i in range(count):
        repo.write("notes.txt", f"note {i}\n")
        versionguard._MEMO.clear()  # each hook run is a process of its own
        hook_commit(capsys, repo, f"notes {i}")


def test_commits_that_change_no_prompt_keep_the_history_without_reading_it(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in "ab":
        repo.write(f"prompts/{name}.md", f"---\nname: {name}\n---\n{name}\n")
    hook_commit(capsys, repo)
    repo.write("prompts/a.md", "---\nname: a\nversion: 1.0.0\n---\na, changed\n")
    hook_commit(capsys, repo)
    _commits_changing_no_prompt(capsys, repo, versionguard.KEPT + 3)
    assert any(versionguard.DELTA in name for name in _kept_files(repo))  # each kept as its parent's, and what it brought in
    walked = counting(monkeypatch, versionguard, "_walked")
    repo.write("prompts/a.md", "---\nname: a\nversion: 1.0.1\n---\na, changed again\n")
    versionguard._MEMO.clear()
    assert hook_commit(capsys, repo).splitlines()[0] == "a: 1.0.1 -> 1.0.2 (patch, prompts/a.md)"
    assert walked == []  # no lock read from history: the kept summaries stand on one another
    versionguard._MEMO.clear()
    assert _summarized(repo, "HEAD") == _reference(repo, "HEAD")
    assert len(_kept_files(repo)) <= 2 * versionguard.KEPT  # the last ones written, and the whole ones they stand on


def test_a_kept_delta_whose_base_is_gone_reads_the_history_instead(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("prompts/a.md", "---\nname: a\n---\na\n")
    hook_commit(capsys, repo)
    repo.write("prompts/a.md", "---\nname: a\nversion: 1.0.0\n---\na, changed\n")
    hook_commit(capsys, repo)
    _commits_changing_no_prompt(capsys, repo, 3)
    for name in _kept_files(repo):
        if versionguard.DELTA not in name:
            (repo.root / ".git" / "prompthooks" / name).unlink()  # the whole summaries the deltas stand on
    walked = counting(monkeypatch, versionguard, "_walked")
    repo.write("prompts/a.md", "---\nname: a\nversion: 1.0.1\n---\na, changed again\n")
    versionguard._MEMO.clear()
    assert hook_commit(capsys, repo).splitlines()[0] == "a: 1.0.1 -> 1.0.2 (patch, prompts/a.md)"
    assert walked != []
    versionguard._MEMO.clear()
    assert _summarized(repo, "HEAD") == _reference(repo, "HEAD")
