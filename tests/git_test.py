"""The git access the history walk and sync rely on, in real repositories."""

from __future__ import annotations

from pathlib import Path

from prompthooks import git
from tests.helpers.repos import init_repo


def test_last_changes_names_the_newest_commit_that_changed_each_file(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.write("prompts/a.md", "a\n")
    repo.write("prompts/team/b.md", "b\n")
    repo.write("top.md", "t\n")
    first = repo.commit("first")
    repo.write("prompts/a.md", "a again\n")
    second = repo.commit("second: a")
    repo.write("elsewhere.txt", "x\n")
    repo.commit("third: not a prompt")
    found = git.last_changes(str(repo.root), "HEAD", ["prompts/a.md", "prompts/team/b.md"])
    assert {path: (info.sha, info.subject) for path, info in found.items()} == {
        "prompts/a.md": (second, "second: a"),
        "prompts/team/b.md": (first, "first"),
    }
    assert git.last_changes(str(repo.root), "HEAD", ["top.md", "prompts/a.md"])["top.md"].sha == first
    assert git.last_changes(str(repo.root), "HEAD", []) == {}


def test_folders_are_the_fewest_pathspecs_that_hold_the_files() -> None:
    assert git._folders(["p/a.md", "p/x/b.md", "q/c.md", "pp/d.md"]) == ["p", "pp", "q"]
    assert git._folders(["p/a.md", "top.md"]) == ["."]


def test_file_steps_name_the_blobs_before_and_after_without_reading_them(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.write("f", "1\n")
    repo.commit("one")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("f", "side\n")
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.write("g", "unrelated\n")
    repo.commit("unrelated")
    repo.git("merge", "-q", "--no-edit", "-X", "theirs", "side")
    repo.git("rm", "-q", "f")
    repo.commit("gone")
    steps = git.file_steps(str(repo.root), ["HEAD"], "f")
    subjects = [step.info.subject for step in steps]
    assert subjects[0] == "one" and subjects[-1] == "gone" and "side" in subjects and "unrelated" not in subjects
    by_subject = {step.info.subject: step for step in steps}
    assert by_subject["one"].old is None and by_subject["gone"].new is None
    merge = next(step for step in steps if len(step.parents) == 2)  # its blobs come from its first parent and itself
    assert merge.old == by_subject["one"].new and merge.new == by_subject["side"].new


def test_a_tree_names_the_blob_git_gives_each_file_and_link_and_none_for_anything_else(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.write("prompts.lock", "lock\n")
    repo.write("run.sh", "#!/bin/sh\n")
    (repo.root / "run.sh").chmod(0o755)
    repo.write("sub/deeper.lock", "deeper\n")
    (repo.root / "link.lock").symlink_to("prompts.lock")
    repo.commit("files")
    root = str(repo.root)
    [(_, tree)] = git.read_objects(root, ["HEAD:"])  # type: ignore[misc]
    for name in ("prompts.lock", "run.sh", "link.lock"):
        assert git.tree_blob_id(tree, name, 40) == git.object_ids(root, [f"HEAD:{name}"])[0] is not None
    [(_, sub)] = git.read_objects(root, ["HEAD:sub"])  # type: ignore[misc]
    assert git.tree_blob_id(sub, "deeper.lock", 40) == git.object_ids(root, ["HEAD:sub/deeper.lock"])[0]
    assert git.tree_blob_id(tree, "sub", 40) is None  # a directory
    assert git.tree_blob_id(tree, "absent.lock", 40) is None
    assert git.tree_blob_id(b"not a tree", "prompts.lock", 40) is None


def test_shallow_boundaries_are_read_from_the_common_git_dir_of_any_worktree(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    origin.write("a.txt", "a\n")
    origin.commit("one")
    origin.write("a.txt", "b\n")
    head = origin.commit("two")
    assert git.shallow_boundaries(git.find_checkout(str(origin.root)).common_dir) == b""
    clone = init_repo(tmp_path / "clone")
    clone.git("fetch", "-q", "--depth", "1", f"file://{origin.root}", "main")
    clone.git("checkout", "-q", "FETCH_HEAD")
    clone.git("worktree", "add", "-q", "--detach", str(tmp_path / "worktree"))
    (clone.root / "sub").mkdir()
    for place in (clone.root / "sub", tmp_path / "worktree"):
        checkout = git.find_checkout(str(place))
        assert checkout.common_dir == str(clone.root / ".git")
        assert git.shallow_boundaries(checkout.common_dir) == f"{head}\n".encode()
    clone.git("fetch", "-q", "--unshallow", f"file://{origin.root}", "main")
    assert git.shallow_boundaries(git.find_checkout(str(clone.root)).common_dir) == b""
