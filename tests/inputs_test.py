"""What the hook reads: prompts a sparse checkout leaves out come from the index; symlinks are read, never rewritten."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prompthooks import lockfile, parallel
from tests.helpers.hook import hook_commit, run
from tests.helpers.repos import GitRepo


def versions(repo: GitRepo) -> dict[str, str]:
    return {name: entry.version for name, entry in lockfile.parse(repo.read("prompts.lock"), "prompts.lock").items()}


def test_sparse_checkout_keeps_every_prompt_and_versions_continue(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/in/a.md", "a\n")
    repo.write("prompts/out/o.md", "---\nname: o\n---\no\n")
    hook_commit(capsys, repo)
    repo.write("prompts/out/o.md", "---\nname: o\nversion: 1.0.0\n---\no, changed\n")
    hook_commit(capsys, repo)
    repo.write("prompts/out/o.md", "---\nname: o\nversion: 1.0.1\n---\no, changed again\n")
    hook_commit(capsys, repo)
    assert versions(repo) == {"a": "1.0.0", "o": "1.0.2"}
    repo.git("sparse-checkout", "set", "--cone", "prompts/in")
    assert not (repo.root / "prompts/out/o.md").exists()
    assert run(capsys, "check") == (0, "", "")
    repo.write("prompts/in/a.md", "a, changed\n")
    out = hook_commit(capsys, repo)
    assert "removed" not in out
    assert versions(repo) == {"a": "1.0.1", "o": "1.0.2"}
    repo.git("sparse-checkout", "disable")
    assert (repo.root / "prompts/out/o.md").exists()
    assert run(capsys, "check") == (0, "", "")
    repo.write("prompts/out/o.md", repo.read("prompts/out/o.md").replace(b"again", b"once more"))
    out = hook_commit(capsys, repo)
    assert out.splitlines()[0] == "o: 1.0.2 -> 1.0.3 (patch, prompts/out/o.md)"


def test_a_file_deleted_but_not_staged_outside_sparse_checkout_still_leaves(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "a\n")
    repo.write("prompts/b.md", "b\n")
    hook_commit(capsys, repo)
    os.remove(repo.root / "prompts/b.md")
    code, out, _ = run(capsys, "lock")
    assert code == 1 and "b: 1.0.0 removed (prompts/b.md)" in out


def test_a_symlinked_prompt_stays_a_symlink(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("shared/base.md", "---\nname: shared\ndescription: x\n---\nHello {{ who }}\n")
    os.makedirs(repo.root / "prompts")
    os.symlink("../shared/base.md", repo.root / "prompts/linked.md")
    out = hook_commit(capsys, repo)
    assert "linked: new 1.0.0" not in out  # named by its front matter
    assert versions(repo) == {"shared": "1.0.0"}
    assert os.path.islink(repo.root / "prompts/linked.md")
    repo.write("shared/base.md", "---\nname: shared\ndescription: x\n---\nHello there, {{ who }}\n")
    out = hook_commit(capsys, repo)
    assert out.splitlines()[0] == "shared: 1.0.0 -> 1.0.1 (patch, prompts/linked.md)"
    assert os.path.islink(repo.root / "prompts/linked.md")
    assert repo.read("shared/base.md").startswith(b"---\nname: shared\ndescription: x\n---\n")  # the target is not stamped either
    assert repo.git("status", "--porcelain") == ""
    assert run(capsys, "check") == (0, "", "")


def test_a_symlink_to_a_prompt_is_read_through(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/real.md", "---\ndescription: x\n---\nHi\n")
    os.symlink("real.md", repo.root / "prompts/alias.md")
    hook_commit(capsys, repo)
    assert versions(repo) == {"alias": "1.0.0", "real": "1.0.0"}
    assert os.path.islink(repo.root / "prompts/alias.md")
    assert b"version: 1.0.0" in repo.read("prompts/real.md")  # the regular file is stamped; the link shows it
    repo.write("prompts/real.md", repo.read("prompts/real.md").replace(b"Hi", b"Hello"))
    hook_commit(capsys, repo)
    assert versions(repo) == {"alias": "1.0.1", "real": "1.0.1"}
    assert os.path.islink(repo.root / "prompts/alias.md")
    assert run(capsys, "check") == (0, "", "")


def test_the_index_is_read_again_only_when_git_wrote_it(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from prompthooks import git
    from tests.helpers.repos import counting

    repo.write("prompts/a.md", "a\n")
    hook_commit(capsys, repo)
    index = repo.root / ".git" / "index"
    os.utime(index, (1_700_000_000, 1_700_000_000))  # not written this instant: known by its stat
    assert run(capsys, "check", "--quiet") == (0, "", "")
    listed = counting(monkeypatch, git, "index_entries")
    repo.write("prompts/a.md", "a, changed\n")
    assert run(capsys, "lock", "--quiet")[0] == 1
    assert listed == []  # the same index: what it said is kept
    repo.git("add", "-A")  # git writes a new index: the lock's staged blob moved
    assert run(capsys, "check") == (0, "", "")
    assert len(listed) == 1
    monkeypatch.setenv("GIT_INDEX_FILE", str(index))  # another index (git commit -a): read it
    os.utime(index, (1_700_000_000, 1_700_000_000))
    run(capsys, "check", "--quiet")
    assert len(listed) == 2


def _main_in_a_process(repo: GitRepo, setup: str, said: str, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """``main(args)`` in a process of its own (the hook forks) after the code ``setup``; then ``said`` is printed to stderr."""
    code = f"import sys\n{setup}from prompthooks.main import main\ncode = main({list(args)!r})\nprint({said}, file=sys.stderr)\nraise SystemExit(code)\n"
    return subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=False)


def _hook_in_a_process(repo: GitRepo, *args: str) -> tuple[int, str, str, bool]:
    """The hook in a process of its own (it forks), listing files in a child from the first file; whether it did."""
    setup = (
        "from prompthooks import inputs, parallel\n"
        "inputs.OVERLAP_FROM = 1\n"
        "used = []\n"
        "alongside = parallel.alongside\n"
        "def recorded(work, meanwhile):\n"
        "    found = alongside(work, meanwhile)\n"
        "    used.append(found is not None)\n"
        "    return found\n"
        "parallel.alongside = recorded\n"
    )
    result = _main_in_a_process(repo, setup, "'alongside', used", args)
    *err, used = result.stderr.splitlines()
    return result.returncode, result.stdout, "\n".join(err), used == "alongside [True]"


def _aged(repo: GitRepo) -> None:
    """The files and the index as a repository nobody touched this instant: known by their stats."""
    for path in [*repo.root.rglob("*.md"), repo.root / "prompts.lock", repo.root / ".git" / "index"]:
        os.utime(path, (1_700_000_000, 1_700_000_000))


@pytest.mark.skipif(parallel.cores() < 2, reason="the child needs a second core")
def test_a_change_staged_after_a_clean_run_is_listed_by_a_child_with_the_same_result(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    for name in "abc":
        repo.write(f"prompts/{name}.md", f"---\nname: {name}\n---\n{name}\n")
    hook_commit(capsys, repo)
    _aged(repo)
    assert _hook_in_a_process(repo, "lock") == (0, "", "", False)  # nothing to do: the index is the one read before
    repo.write("prompts/b.md", repo.read("prompts/b.md") + b"changed\n")
    repo.git("add", "-A")
    code, out, err, overlapped = _hook_in_a_process(repo, "lock")
    assert (code, err, overlapped) == (1, "", True)
    assert out.splitlines()[0] == "b: 1.0.0 -> 1.0.1 (patch, prompts/b.md)"
    repo.git("add", "-A")
    assert _hook_in_a_process(repo, "lock") == (0, "", "", False)  # after a run that wrote files, most likely its output staged: no child
    assert run(capsys, "check", "--no-cache") == (0, "", "")
    assert versions(repo) == {"a": "1.0.0", "b": "1.0.1", "c": "1.0.0"}


@pytest.mark.skipif(parallel.cores() < 2, reason="the child needs a second core")
def test_an_error_while_a_child_lists_the_files_is_reported_as_without_one(repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo.write("prompts/a.md", "---\nname: a\n---\na\n")
    hook_commit(capsys, repo)
    _aged(repo)
    assert _hook_in_a_process(repo, "lock")[0] == 0
    outside = tmp_path / "outside.md"
    outside.write_text("---\nname: o\n---\no\n")
    os.symlink(outside, repo.root / "prompts" / "o.md")
    repo.git("add", "-A")
    code, out, err, overlapped = _hook_in_a_process(repo, "lock")
    assert not overlapped  # the child failed: the files were listed here, where the error is reported
    assert (code, out) == (1, "")
    assert err == "prompts/o.md: symlink points outside the repository; prompts must live in the repository"


def test_stat_keys_pack_whatever_the_inode_number() -> None:
    from prompthooks.inputs import pack_stats, unpack_stats

    keys = [(1_700_000_000_123_456_789, -5, 12, 2**64 - 1), (0, 0, 0, 2**63)]  # inode numbers are unsigned; mtimes may be negative
    packed = pack_stats([value for key in keys for value in key])
    assert len(packed) == 64
    assert pack_stats([value for key in unpack_stats(packed) for value in key]) == packed
    assert unpack_stats(packed)[0][:3] == keys[0][:3]
    assert unpack_stats(packed)[0][3] != unpack_stats(packed)[1][3]


def _collected_in_a_process(repo: GitRepo, split_from: int) -> str:
    """``inputs.collect`` in a process of its own (it may fork), stating half the files in a child from ``split_from`` files."""
    code = (
        "import marshal, os\n"
        "from prompthooks import config, errors, inputs\n"
        f"inputs.SPLIT_FROM = {split_from}\n"
        "try:\n"
        "    configured = config.load(os.getcwd())\n"
        "    found = inputs.collect(os.getcwd(), configured, current_lock=inputs.read_lock(configured))\n"
        "except errors.FatalError as error:\n"
        "    print('error', error)\n"
        "else:\n"
        "    print(marshal.dumps(tuple(found[2:])).hex())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(parallel.cores() < 2, reason="the child needs a second core")
def test_files_stated_in_two_halves_are_the_files_stated_in_one_pass(repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for i in range(7):
        repo.write(f"prompts/p{i}.md", f"---\nname: p{i}\n---\n{i}\n")
    repo.write("notes/target.txt", "linked\n")
    os.symlink("../notes/target.txt", repo.root / "prompts" / "z_link.md")
    hook_commit(capsys, repo)
    os.remove(repo.root / "prompts" / "p5.md")  # deleted, not staged: leaving the lock
    assert _collected_in_a_process(repo, 2) == _collected_in_a_process(repo, 10**9)
    outside = tmp_path / "outside.md"
    outside.write_text("---\nname: o\n---\no\n")
    os.symlink(outside, repo.root / "prompts" / "zz.md")  # in the second half: the child's error is said from here
    repo.git("add", "-A")
    said = _collected_in_a_process(repo, 2)
    assert said == _collected_in_a_process(repo, 10**9)
    assert said.strip() == "error prompts/zz.md: symlink points outside the repository; prompts must live in the repository"


def _hook_with_a_slow_half(repo: GitRepo, *args: str) -> tuple[int, str, str]:
    """The hook in a process of its own, stating half the files in a child that takes its time; what the hook
    did while it waited is said on the last line of stderr."""
    setup = (
        "import os, time\n"
        "from prompthooks import inputs, lockpatch, parallel\n"
        "inputs.SPLIT_FROM = 1\n"
        "parent, state, done = os.getpid(), [], []\n"
        "stat_files = inputs._stat_files\n"
        "def slow(root, selected):\n"
        "    if os.getpid() != parent:\n"
        "        time.sleep(0.5)\n"
        "    return stat_files(root, selected)\n"
        "inputs._stat_files = slow\n"
        "alongside = parallel.alongside\n"
        "def recorded(work, meanwhile):\n"
        "    state.append('waiting')\n"
        "    try:\n"
        "        return alongside(work, meanwhile)\n"
        "    finally:\n"
        "        state.pop()\n"
        "parallel.alongside = recorded\n"
        "known_state = lockpatch.known_state\n"
        "def loaded(*given):\n"
        "    done.append('known state ' + (state[-1] if state else 'after'))\n"
        "    return known_state(*given)\n"
        "lockpatch.known_state = loaded\n"
    )
    result = _main_in_a_process(repo, setup, "done", args)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.skipif(parallel.cores() < 2, reason="the child needs a second core")
def test_the_known_state_is_loaded_while_a_child_states_half_the_files(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    for name in "abcd":
        repo.write(f"prompts/{name}.md", f"---\nname: {name}\n---\n{name}\n")
    hook_commit(capsys, repo)
    _aged(repo)
    assert _hook_with_a_slow_half(repo, "lock") == (0, "", "['known state waiting']\n")
    repo.write("prompts/c.md", repo.read("prompts/c.md") + b"changed\n")
    code, out, err = _hook_with_a_slow_half(repo, "lock")  # the index is the same: no child lists, one states half
    assert (code, err) == (1, "['known state waiting']\n")
    assert out.splitlines()[0] == "c: 1.0.0 -> 1.0.1 (patch, prompts/c.md)"
    repo.git("add", "-A")
    assert run(capsys, "check", "--no-cache") == (0, "", "")
    assert versions(repo) == {"a": "1.0.0", "b": "1.0.0", "c": "1.0.1", "d": "1.0.0"}


@pytest.mark.parametrize("lock", ["prompts.lock", "config/prompts.lock"])
def test_the_locks_blob_id_at_head_is_read_with_head(repo: GitRepo, lock: str) -> None:
    from prompthooks import config, git, inputs

    root = str(repo.root)
    if lock != "prompts.lock":
        repo.write("pyproject.toml", f'[tool.prompthooks]\nlock = "{lock}"\n')
    repo.write("prompts/a.md", "a\n")

    def head_lock_id() -> str | None:
        configured = config.load(root)
        return inputs.collect(root, configured, git.find_checkout(root).git_dir, current_lock=None).head_lock_id

    assert head_lock_id() is None  # no commit yet
    repo.commit("no lock")
    assert head_lock_id() == ""
    repo.write(lock, "[prompts]\n")
    repo.commit("a lock")
    assert head_lock_id() == git.object_ids(root, [f"HEAD:{lock}"])[0] is not None
