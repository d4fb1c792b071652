"""The deployed tree: the prompt files and ``prompts.lock`` shipped with the application.

Found from ``root=``, ``PROMPTHOOKS_ROOT``, or the working directory upward.  Every
file served is hashed with the lock's scheme and compared with its lock entry.
"""

from __future__ import annotations

import os
import threading
from typing import NamedTuple

from prompthooks.contract import ROOT_VARIABLE
from prompthooks.hashing import PromptContent
from prompthooks.records import LockEntry
from prompthooks.runtime.errors import PromptIntegrityError

DEFAULT_LOCK = "prompts.lock"


class TreeError(Exception):
    """The deployed tree cannot answer: no lock found, or a lock or file that cannot be read."""


class Tree(NamedTuple):
    root: str
    lock_path: str
    entries: dict[str, LockEntry]
    dependencies: dict[str, tuple[str, ...]] = {}  # by path, of prompts and fragments, from the lock


class DeployedFile(NamedTuple):
    entry: LockEntry
    content: PromptContent
    search_path: tuple[str, ...]  # where its includes resolve, as Jinja2's FileSystemLoader would


_trees: dict[tuple[str, int, int], Tree] = {}
_lock = threading.Lock()


def _lock_name(directory: str) -> str | None:
    """The lock file this directory declares (``[tool.prompthooks] lock``), if it has one."""
    pyproject = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(pyproject):
        from prompthooks import config
        from prompthooks.errors import FatalError

        try:
            name = config.load(directory).lock
        except FatalError as error:
            raise TreeError(str(error)) from None
        if os.path.isfile(os.path.join(directory, name)):
            return name
    return DEFAULT_LOCK if os.path.isfile(os.path.join(directory, DEFAULT_LOCK)) else None


def find_root(root: str | None) -> tuple[str, str]:
    """(root, lock file name); ``TreeError`` when there is none."""
    explicit = root or os.environ.get(ROOT_VARIABLE)
    if explicit:
        directory = os.path.abspath(explicit)
        name = _lock_name(directory)
        if name is None:
            raise TreeError(f"no {DEFAULT_LOCK} in {directory} (from {'root=' if root else ROOT_VARIABLE})")
        return directory, name
    directory = os.path.abspath(os.getcwd())
    while True:
        name = _lock_name(directory)
        if name is not None:
            return directory, name
        parent = os.path.dirname(directory)
        if parent == directory:
            raise TreeError(f"no {DEFAULT_LOCK} in {os.getcwd()} or above it (set {ROOT_VARIABLE} or pass root=)")
        directory = parent


def open_tree(root: str | None) -> Tree:
    """The deployed tree's lock, parsed once per lock file state."""
    directory, name = find_root(root)
    lock_path = os.path.join(directory, name)
    try:
        stat = os.stat(lock_path)
    except OSError as error:
        raise TreeError(f"cannot read {lock_path}: {error.strerror}") from None
    key = (lock_path, stat.st_mtime_ns, stat.st_size)
    with _lock:
        found = _trees.get(key)
    if found is not None:
        return found
    from prompthooks import lockfile
    from prompthooks.errors import FatalError

    try:
        with open(lock_path, "rb") as file:
            raw = file.read()
        entries = lockfile.parse(raw, lock_path)
        fragments = lockfile.parse_fragments(raw, lock_path)
    except FatalError as error:
        raise TreeError(str(error)) from None
    except OSError as error:
        raise TreeError(f"cannot read {lock_path}: {error.strerror}") from None
    dependencies = {path: fragment.dependencies for path, fragment in fragments.items()}
    dependencies.update({entry.path: entry.dependencies for entry in entries.values() if entry.dependencies})
    tree = Tree(directory, lock_path, entries, dependencies)
    with _lock:
        _trees[key] = tree
    return tree


def content_of(tree: Tree, name: str, entry: LockEntry) -> DeployedFile:
    """The prompt's content from the tree, verified against its lock entry.

    The hash is the lock's own recipe (``promptfile`` + ``hashing``): a file changed after
    the lock was written raises ``PromptIntegrityError``.
    """
    from prompthooks import promptfile
    from prompthooks.errors import FatalError
    from prompthooks.hashing import content_hash

    def own(relative: str) -> PromptContent:
        path = os.path.join(tree.root, relative)
        try:
            with open(path, "rb") as file:
                raw = file.read()
            return promptfile.load(raw, relative).content
        except FatalError as error:
            raise TreeError(str(error)) from None
        except OSError as error:
            raise TreeError(f"cannot read {path}: {error.strerror}") from None

    def closure_hash(relative: str, seen: frozenset[str]) -> str:
        """The lock's hash recipe: a file's own hash, combined with its dependencies' (as ``composition`` does)."""
        own_hash = content_hash(own(relative))
        dependencies = tree.dependencies.get(relative, ())
        if not dependencies or relative in seen:
            return own_hash
        from prompthooks import composition

        combined = composition.combine(own_hash, {target: closure_hash(target, seen | {relative}) for target in dependencies})
        assert combined is not None
        return combined

    path = os.path.join(tree.root, entry.path)
    content = own(entry.path)
    actual = closure_hash(entry.path, frozenset())
    if actual != entry.hash:
        raise PromptIntegrityError(name, entry.version, entry.hash, actual, f"the deployed file {entry.path}")
    # Includes resolve against the prompt's folder, then the repository root (composition's default search path).
    folder = os.path.dirname(path)
    search_path = (folder,) if folder == tree.root else (folder, tree.root)
    return DeployedFile(entry, content, search_path)


def reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
