"""Walking the lock's history: each version read once, and what each commit added is what reading every lock whole says."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompthooks import git, lockfile, lockwalk
from prompthooks.records import LockEntry
from testing import synthetic
from tests.helpers.repos import GitRepo, counting, init_repo


def _whole(root: Path, commit: str) -> dict[str, LockEntry] | None:
    found = git.read_objects(str(root), [f"{commit}:prompts.lock"])[0]
    if found is None:
        return {}
    try:
        return lockfile.parse(found[1], "x")
    except lockfile.FatalError:
        return None


def _assert_walk_says_what_whole_reading_says(root: Path, revisions: list[str]) -> list[lockwalk.Seen]:
    steps = git.file_steps(str(root), revisions, "prompts.lock")
    seen = list(lockwalk.walk(str(root), steps, "prompts.lock", outside_bases=True))
    for item in seen:
        after = _whole(root, item.step.info.sha)
        assert item.readable == (after is not None)
        if after is None:
            continue
        before = _whole(root, item.step.parents[0]) if item.step.parents else {}
        added = set(after.items()) - set((before or {}).items())
        assert added <= set(item.entries.items()) <= set(after.items()), item.step.info.subject
    return seen


def regular(entries: dict[str, LockEntry]) -> bytes:
    return lockfile.render(entries)


def test_irregular_versions_are_read_whole_and_the_rest_from_what_changed(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    one = {"a": LockEntry("a.md", "1.0.0", "h1"), "b": LockEntry("b.md", "1.0.0", "h2")}
    repo.write("prompts.lock", regular(one))
    repo.commit("regular")
    two = {**one, "a": LockEntry("a.md", "1.0.1", "h3")}
    repo.write("prompts.lock", regular(two))
    repo.commit("a bump")
    repo.write("prompts.lock", regular(two).replace(b"[prompts.b]", b"<<<<<<< ours\n[prompts.b]"))
    repo.commit("conflict markers")
    repo.write("prompts.lock", regular({**two, "b": LockEntry("b.md", "1.0.1", "h4")}))
    repo.commit("fixed")
    repo.write("prompts.lock", b'lock-version = 1\nhash-scheme = "sha256:utf8-lf-body+json-metadata/1"\n[prompts]\na = { path = "a.md", version = "1.0.2", hash = "h5" }\n')
    repo.commit("another form")
    repo.write("prompts.lock", regular({"a": LockEntry("a.md", "1.0.2", "h5")}))
    repo.commit("regular again")
    repo.git("rm", "-q", "prompts.lock")
    repo.commit("no lock")
    repo.write("prompts.lock", regular({"c": LockEntry("c.md", "1.0.0", "h6")}))
    repo.commit("back")
    seen = _assert_walk_says_what_whole_reading_says(repo.root, ["HEAD"])
    assert [(item.step.info.subject, item.whole, item.readable) for item in seen] == [
        ("regular", True, True),
        ("a bump", False, True),
        ("conflict markers", True, False),
        ("fixed", True, True),
        ("another form", True, True),
        ("regular again", True, True),
        ("back", True, True),
    ]
    assert seen[1].entries == {"a": two["a"]}


def test_a_merge_is_read_against_its_first_parent(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    base = {name: LockEntry(f"{name}.md", "1.0.0", f"h{name}") for name in "abcdef"}
    repo.write("prompts.lock", regular(base))
    repo.commit("base")
    for side, name in (("side", "f"), ("other", "e")):
        repo.git("checkout", "-q", "-b", side, "main")
        repo.write("prompts.lock", regular({**base, name: LockEntry(f"{name}.md", "1.0.1", side)}))
        repo.commit(side)
    repo.git("checkout", "-q", "main")
    repo.write("prompts.lock", regular({**base, "a": LockEntry("a.md", "1.0.1", "main")}))
    repo.commit("main")
    repo.git("merge", "-q", "-s", "ours", "--no-edit", "other")  # keeps main's lock: nothing to read
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side", check=False)
    merged = {**base, "a": LockEntry("a.md", "1.0.1", "main"), "f": LockEntry("f.md", "1.0.1", "side"), "g": LockEntry("g.md", "1.0.0", "merged")}
    repo.write("prompts.lock", regular(merged))
    repo.commit("merge side, with a new prompt")
    seen = _assert_walk_says_what_whole_reading_says(repo.root, ["HEAD"])
    subjects = [item.step.info.subject for item in seen]  # parents first; the merge that kept main's lock is not there
    assert subjects[0] == "base" and sorted(subjects[1:4]) == ["main", "other", "side"] and subjects[4:] == ["merge side, with a new prompt"]
    assert seen[-1].entries == {"f": merged["f"], "g": merged["g"]}  # against main's lock: side's bump, and the new prompt


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("walk") / "repo"
    synthetic.build_history(root, 25, 300, fork_back=40, fork_commits=3)
    return root


def test_a_long_history_reads_each_version_once_out_of_a_pack(long_history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packed = counting(monkeypatch, git, "pack_blobs")
    read = counting(monkeypatch, git, "read_objects")
    steps = git.file_steps(str(long_history), ["main"], "prompts.lock")
    seen = list(lockwalk.walk(str(long_history), steps, "prompts.lock", outside_bases=True))
    assert len(packed) == 1 and not read
    assert sorted(packed[0][1]) == sorted({step.new for step in steps})  # each version once, and no other blob
    assert [item.whole for item in seen] == [True] + [False] * 299  # the first lock whole, then what changed
    union = {(name, entry) for item in seen for name, entry in item.entries.items()}
    every = {(name, entry) for step in steps for name, entry in (_whole(long_history, step.info.sha) or {}).items()}
    assert union == every


def test_a_range_reads_its_first_parent_lock_to_read_the_rest_from_what_changed(long_history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fork = GitRepo(long_history).git("merge-base", "main", "feature").strip()
    steps = git.file_steps(str(long_history), ["feature", "^main"], "prompts.lock")
    read = counting(monkeypatch, git, "read_objects")
    seen = list(lockwalk.walk(str(long_history), steps, "prompts.lock", outside_bases=True))
    fork_lock = git.object_ids(str(long_history), [f"{fork}:prompts.lock"])[0]
    assert sorted(name for call in read for name in call[1]) == sorted([fork_lock, *(step.new for step in steps)])
    assert [item.whole for item in seen] == [False, False, False]
    _assert_walk_says_what_whole_reading_says(long_history, ["feature", "^main"])
