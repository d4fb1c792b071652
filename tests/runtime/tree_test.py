"""The deployed tree: its flattened copies are sync's, byte for byte, and come only from verified files."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompthooks import snapshot
from prompthooks.hashing import content_hash
from prompthooks.runtime import PromptIntegrityError
from prompthooks.runtime import tree as trees
from tests.helpers.loading import COMPOSED, COMPOSED_FILES, lock_and_commit
from tests.helpers.repos import GitRepo, init_repo


def _composed(root: Path, **extra: str) -> GitRepo:
    """A repository of composed prompts of every kind, locked and committed."""
    repo = init_repo(root)
    for path, text in {**COMPOSED_FILES, **extra}.items():
        repo.write(path, text)
    lock_and_commit(repo, "composed prompts")
    return repo


def test_the_flattened_hash_of_each_composed_prompt_is_what_sync_registers(tmp_path: Path) -> None:
    repo = _composed(tmp_path / "repo", **{"pyproject.toml": '[tool.prompthooks]\nsearch_path = [".", "/"]\n'})
    registered = {prompt.name: content_hash(prompt.content) for prompt in snapshot.read(str(repo.root), "HEAD").prompts}
    tree = trees.open_tree(str(repo.root))
    assert tree.settings is not None and tree.settings.search_path == (".", "/")
    for name in COMPOSED:
        entry = tree.entries[name]
        assert entry.dependencies
        assert trees.flattened_hash(tree, name, entry) == registered[name], name


def test_the_flattened_hash_comes_only_from_files_the_lock_vouches_for(tmp_path: Path) -> None:
    repo = _composed(tmp_path / "repo")
    tree = trees.open_tree(str(repo.root))
    entry = tree.entries["tr_include"]
    (repo.root / "app/prompt/_rules.j2").write_text("Be rude.\n")
    with pytest.raises(PromptIntegrityError, match="the deployed file app/prompt/tr_include.jinja2"):
        trees.flattened_hash(tree, "tr_include", entry)
    (repo.root / "app/prompt/_rules.j2").unlink()
    with pytest.raises(trees.TreeError, match="cannot read"):
        trees.flattened_hash(tree, "tr_include", entry)
    (repo.root / "app/prompt/_rules.j2").write_text(COMPOSED_FILES["app/prompt/_rules.j2"])
    computed = trees.flattened_hash(tree, "tr_include", entry)
    (repo.root / "app/prompt/_rules.j2").unlink()  # computed once per lock entry: the files are not read again
    assert trees.flattened_hash(tree, "tr_include", entry) == computed


def test_content_of_serves_what_it_hashed_with_its_closure(tmp_path: Path) -> None:
    repo = _composed(tmp_path / "repo")
    tree = trees.open_tree(str(repo.root))
    found = trees.content_of(tree, "tr_story", tree.entries["tr_story"])
    assert set(found.sources) == {"app/prompt/tr_story.prompt", "app/prompt/_style.prompt"}
    assert found.sources["app/prompt/_style.prompt"] == COMPOSED_FILES["app/prompt/_style.prompt"]


def test_no_lock_is_told_apart_from_a_lock_that_cannot_be_read(tmp_path: Path) -> None:
    """No lock: there is no deployed tree.  A lock (or the pyproject.toml naming it) that cannot be read is not that."""
    with pytest.raises(trees.NoTree):
        trees.open_tree(str(tmp_path))
    (tmp_path / "prompts.lock").write_text("<<<<<<< HEAD\n")
    with pytest.raises(trees.TreeError) as raised:
        trees.open_tree(str(tmp_path))
    assert not isinstance(raised.value, trees.NoTree)
    (tmp_path / "pyproject.toml").write_text("[tool.prompthooks\n")
    with pytest.raises(trees.TreeError) as raised:
        trees.open_tree(str(tmp_path))
    assert not isinstance(raised.value, trees.NoTree)
