from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from prompthooks import git, versionguard
from prompthooks.cache import CHECKSUM_BYTES, Cache
from prompthooks.git import clean_environment
from prompthooks.main import main
from tests.helpers.repos import GitRepo

HOUR_AGO = time.time() - 3600


def _age(repo: GitRepo) -> None:
    """Make every file look untouched for an hour, as in a repository nobody is editing."""
    for path in repo.root.rglob("*"):
        if ".git" not in path.relative_to(repo.root).parts and path.is_file():
            os.utime(path, (HOUR_AGO, HOUR_AGO))


def _fast_path_taken(repo: GitRepo) -> bool:
    code = "import sys; from prompthooks.main import main; code = main(['lock']); print(code, 'prompthooks.workspace' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=True)
    code_text, evaluated = result.stdout.split()
    assert code_text == "0"
    return evaluated == "False"


@pytest.fixture
def locked(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> GitRepo:
    repo.write("prompts/a.md", "---\nname: a\n---\nHello\n")
    repo.git("add", "-A")
    assert main(["lock"]) == 1
    repo.commit()
    _age(repo)
    capsys.readouterr()
    return repo


def test_unchanged_repository_is_answered_from_the_fingerprint(locked: GitRepo) -> None:
    assert not _fast_path_taken(locked)  # the first clean run records the fingerprint
    assert _fast_path_taken(locked)
    assert (locked.root / ".git" / "prompthooks" / "clean").exists()


def test_a_change_with_the_same_size_and_mtime_is_still_seen(locked: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lock"]) == 0
    assert main(["lock"]) == 0
    path = locked.root / "prompts" / "a.md"
    path.write_bytes(path.read_bytes().replace(b"Hello", b"Howdy"))
    os.utime(path, (HOUR_AGO, HOUR_AGO))
    assert main(["lock"]) == 1  # the inode change time moved, so the stat key did too
    assert "a: 1.0.0 -> 1.0.1 (patch, prompts/a.md)" in capsys.readouterr().out


def test_recently_modified_files_are_not_trusted_by_stat(locked: GitRepo) -> None:
    path = locked.root / "prompts" / "a.md"
    path.write_bytes(path.read_bytes())  # fresh mtime: inside the racy window
    assert main(["lock"]) == 0
    assert not (locked.root / ".git" / "prompthooks" / "clean").exists()


@pytest.mark.parametrize("name", ["clean", "records"])
def test_a_corrupt_cache_is_ignored(locked: GitRepo, capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert main(["lock"]) == 0
    cache = locked.root / ".git" / "prompthooks" / name
    cache.write_bytes(b"\x00garbage")
    assert main(["lock"]) == 0
    locked.write("prompts/a.md", locked.read("prompts/a.md") + b"more\n")
    assert main(["lock"]) == 1


def test_no_cache_flag_writes_nothing_under_git(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("prompts/a.md", "a\n")
    repo.git("add", "-A")
    assert main(["lock", "--no-cache"]) == 1
    repo.git("add", "-A")
    assert main(["check", "--no-cache"]) == 0
    assert not Path(repo.root / ".git" / "prompthooks").exists()


def test_a_cache_file_changed_on_disk_is_never_read(tmp_path: Path) -> None:
    cache = Cache(str(tmp_path))
    cache.store("state", {"lock": b"[a]\nversion = 1\n", "paths": ["prompts/a.md"], "passed": True})
    path = tmp_path / "state"
    stored = path.read_bytes()
    assert Cache(str(tmp_path)).load("state") == {"lock": b"[a]\nversion = 1\n", "paths": ["prompts/a.md"], "passed": True}
    for at in range(len(stored)):  # CRC-32 catches every single-bit error, the checksum's own bits included
        for bit in range(8):
            flipped = bytearray(stored)
            flipped[at] ^= 1 << bit
            path.write_bytes(flipped)
            assert Cache(str(tmp_path)).load("state") is None, (at, bit)
    for end in range(len(stored)):  # torn: a prefix
        path.write_bytes(stored[:end])
        assert Cache(str(tmp_path)).load("state") is None, end


def test_a_marshal_length_no_writer_made_is_ignored(tmp_path: Path) -> None:
    huge_list = b"\xdb\xff\xff\xff\x7f"  # a list of 2**31 - 1 items: marshal allocates before it reads them
    (tmp_path / "state").write_bytes(huge_list + zlib.crc32(huge_list).to_bytes(CHECKSUM_BYTES, "big"))
    assert Cache(str(tmp_path)).load("state") is None


def test_a_bit_flipped_in_any_cache_file_changes_no_result(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by an adversarial pass: one flipped bit in a history summary bumped a prompt that needed none."""
    for index in range(6):
        repo.write(f"prompts/p{index}.md", f"---\nname: p{index}\n---\nHello {index}\n")
    for change in range(3):  # a history of the lock, summarized by the hook as it goes
        repo.git("add", "-A")
        main(["lock"])
        repo.commit(f"change {change}")
        repo.write(f"prompts/p{change}.md", repo.read(f"prompts/p{change}.md") + b"more\n")
    repo.git("add", "-A")
    assert main(["lock"]) == 1
    repo.git("add", "-A")
    assert main(["lock"]) == 0
    repo.commit("stamped")
    repo.write("prompts/p4.md", repo.read("prompts/p4.md") + b"again\n")
    repo.git("add", "-A")
    names = sorted(os.listdir(repo.root / ".git" / "prompthooks"))
    assert any(name.startswith("history-") for name in names) and "known" in names

    def outcome(root: Path, *options: str) -> tuple[int, int, dict[str, bytes]]:
        monkeypatch.chdir(root)
        checked = main(["check", *options])
        return checked, main(["lock", *options]), GitRepo(root).snapshot()

    shutil.copytree(repo.root, tmp_path / "oracle", symlinks=True)
    expected = outcome(tmp_path / "oracle", "--no-cache")
    assert expected[:2] == (1, 1)
    for name in names:
        work = tmp_path / f"flipped-{name}"
        shutil.copytree(repo.root, work, symlinks=True)
        cached = work / ".git" / "prompthooks" / name
        flipped = bytearray(cached.read_bytes())
        flipped[len(flipped) // 2] ^= 0x04
        cached.write_bytes(flipped)
        assert outcome(work) == expected, name
    capsys.readouterr()


def _shallow_clone_of_a_lowered_prompt(repo: GitRepo, tmp_path: Path) -> GitRepo:
    """A depth-1 clone of a history in which p0 held 2.0.0, then was lowered to 1.0.0 with the lock removed:
    only the history below HEAD knows 2.0.0."""
    for early in range(2):  # below it all: deepened by two commits, the clone is still shallow
        repo.write("early.txt", f"{early}\n")
        repo.commit(f"early {early}")
    repo.write("prompts/p0.jinja2", "{#\nname: p0\nversion: 2.0.0\n#}\nHello {{ who }}\n")
    repo.git("add", "-A")
    assert main(["lock"]) == 1
    repo.commit("p0 at 2.0.0")
    repo.write("prompts/p0.jinja2", "{#\nname: p0\nversion: 1.0.0\n#}\nHi {{ who }}\n")
    repo.git("rm", "-q", "prompts.lock")
    repo.commit("p0 lowered, its lock gone")
    repo.write("other.txt", "x\n")
    repo.commit("unrelated")
    clone = GitRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone.root)], check=True, env=clean_environment())
    return clone


def _edited_after_the_fetch_is_locked_as_without_a_cache(clone: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    versionguard._MEMO.clear()  # the next run is another process: only what is kept under .git counts
    clone.write("prompts/p0.jinja2", "{#\nname: p0\nversion: 1.0.0\n#}\nHi {{ who }}, again\n")
    clone.git("add", "-A")
    shutil.copytree(clone.root, tmp_path / "oracle", symlinks=True)
    monkeypatch.chdir(clone.root)
    capsys.readouterr()
    assert main(["lock"]) == 1
    assert "p0: new 2.0.1 ('p0' held versions up to 2.0.0 before" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path / "oracle")
    assert main(["lock", "--no-cache"]) == 1
    assert GitRepo(tmp_path / "oracle").snapshot() == clone.snapshot()


@pytest.mark.parametrize("fetch", [["--unshallow"], ["--deepen", "2"]])
def test_what_a_shallow_clones_cut_history_said_is_never_read_after_it_is_deepened(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fetch: list[str]
) -> None:
    """Found by an adversarial pass: a history summary kept in a depth-1 clone outlived `git fetch --unshallow`,
    and the hook let p0 restart at 1.0.0 below the 2.0.0 its name held deeper in history."""
    clone = _shallow_clone_of_a_lowered_prompt(repo, tmp_path)
    monkeypatch.chdir(clone.root)
    assert main(["check"]) == 1  # no lock at HEAD; the hook summarizes HEAD's history as the clone has it
    kept = [path.name for path in (clone.root / ".git" / "prompthooks").iterdir()]
    assert len(kept) == 1 and kept[0].startswith("shallow-")  # the cut history's cache: a folder of its own
    clone.git("fetch", "-q", *fetch)
    assert git.is_shallow(str(clone.root)) == ("--deepen" in fetch)
    _edited_after_the_fetch_is_locked_as_without_a_cache(clone, tmp_path, monkeypatch, capsys)


def test_a_run_that_began_before_the_fetch_and_kept_its_summary_after_it_misleads_no_later_run(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = _shallow_clone_of_a_lowered_prompt(repo, tmp_path)
    monkeypatch.chdir(clone.root)
    store = Cache.store

    def fetched_first(cache: Cache, name: str, data: object) -> None:
        if name.startswith(versionguard.CACHE_PREFIX) and git.is_shallow(str(clone.root)):
            clone.git("fetch", "-q", "--unshallow")  # the cut history is read; the clone is deepened before it is kept
        store(cache, name, data)

    monkeypatch.setattr(Cache, "store", fetched_first)
    assert main(["check"]) == 1
    monkeypatch.setattr(Cache, "store", store)
    assert not git.is_shallow(str(clone.root))
    _edited_after_the_fetch_is_locked_as_without_a_cache(clone, tmp_path, monkeypatch, capsys)


def test_a_run_whose_clone_is_cut_under_it_keeps_nothing(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A full clone made shallow (`git fetch --depth 1`) after the hook read its boundaries: it reads a cut history
    and keeps none of it under the whole history's folder, where a later run after `--unshallow` would read it."""
    clone = _shallow_clone_of_a_lowered_prompt(repo, tmp_path)
    clone.git("fetch", "-q", "--unshallow")
    monkeypatch.chdir(clone.root)
    of_checkout = Cache.of_checkout

    def cut_after_opening(git_dir: str, common_dir: str) -> Cache:
        opened = of_checkout(git_dir, common_dir)
        clone.git("fetch", "-q", "--depth", "1", "origin", "main")
        return opened

    monkeypatch.setattr(Cache, "of_checkout", cut_after_opening)
    assert main(["check"]) == 1
    monkeypatch.setattr(Cache, "of_checkout", of_checkout)
    assert git.is_shallow(str(clone.root))
    assert not (clone.root / ".git" / "prompthooks").exists()
    clone.git("fetch", "-q", "--unshallow")
    _edited_after_the_fetch_is_locked_as_without_a_cache(clone, tmp_path, monkeypatch, capsys)
