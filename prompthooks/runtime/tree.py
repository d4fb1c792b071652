"""The deployed tree: the prompt files and ``prompts.lock`` shipped with the application.

Found from ``root=``, ``PROMPTHOOKS_ROOT``, or the working directory upward.  Every
file served is hashed with the lock's scheme and compared with its lock entry.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, NamedTuple

from prompthooks.contract import ROOT_VARIABLE
from prompthooks.hashing import PromptContent
from prompthooks.records import LockEntry
from prompthooks.runtime.errors import PromptIntegrityError

if TYPE_CHECKING:
    from prompthooks.config import Config

DEFAULT_LOCK = "prompts.lock"


class TreeError(Exception):
    """The deployed tree cannot answer: no lock found, or a lock or file that cannot be read."""


class NoTree(TreeError):
    """No lock found at all: there is no deployed tree, as opposed to one that cannot be read."""


class Tree(NamedTuple):
    root: str
    lock_path: str
    entries: dict[str, LockEntry]
    dependencies: dict[str, tuple[str, ...]] = {}  # by path, of prompts and fragments, from the lock
    settings: Config | None = None  # ``[tool.prompthooks]`` of the tree's pyproject.toml; None: it has none (the defaults)


class DeployedFile(NamedTuple):
    entry: LockEntry
    content: PromptContent
    # Every file of its closure, itself included: path -> text with LF endings, as read once and verified.
    # What its includes render from: the files are never read again.
    sources: dict[str, str] = {}


_trees: dict[tuple[str, int, int], Tree] = {}
_flattened: dict[tuple[str, str, str, Config | None], str] = {}  # (root, path, locked hash, settings) -> hash of the flattened copy
_lock = threading.Lock()


def _lock_name(directory: str) -> tuple[str, Config | None] | None:
    """The lock file this directory declares (``[tool.prompthooks] lock``), and its settings, if it has one."""
    pyproject = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(pyproject):
        from prompthooks import config
        from prompthooks.errors import FatalError

        try:
            settings = config.load(directory)
        except FatalError as error:
            raise TreeError(str(error)) from None
        if os.path.isfile(os.path.join(directory, settings.lock)):
            return settings.lock, settings
    return (DEFAULT_LOCK, None) if os.path.isfile(os.path.join(directory, DEFAULT_LOCK)) else None


def find_root(root: str | None) -> tuple[str, tuple[str, Config | None]]:
    """(root, (lock file name, settings)); ``NoTree`` when there is none, ``TreeError`` when a pyproject.toml cannot be read."""
    explicit = root or os.environ.get(ROOT_VARIABLE)
    if explicit:
        directory = os.path.abspath(explicit)
        name = _lock_name(directory)
        if name is None:
            raise NoTree(f"no {DEFAULT_LOCK} in {directory} (from {'root=' if root else ROOT_VARIABLE})")
        return directory, name
    directory = os.path.abspath(os.getcwd())
    while True:
        name = _lock_name(directory)
        if name is not None:
            return directory, name
        parent = os.path.dirname(directory)
        if parent == directory:
            raise NoTree(f"no {DEFAULT_LOCK} in {os.getcwd()} or above it (set {ROOT_VARIABLE} or pass root=)")
        directory = parent


def open_tree(root: str | None) -> Tree:
    """The deployed tree's lock, parsed once per lock file state."""
    directory, (name, settings) = find_root(root)
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
    tree = Tree(directory, lock_path, entries, dependencies, settings)
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

    loaded: dict[str, promptfile.Loaded] = {}  # each file read once: what is hashed is what is served

    def own(relative: str) -> promptfile.Loaded:
        if relative not in loaded:
            path = os.path.join(tree.root, relative)
            try:
                with open(path, "rb") as file:
                    raw = file.read()
                loaded[relative] = promptfile.load(raw, relative)
            except FatalError as error:
                raise TreeError(str(error)) from None
            except OSError as error:
                raise TreeError(f"cannot read {path}: {error.strerror}") from None
        return loaded[relative]

    def closure_hash(relative: str, seen: frozenset[str]) -> str:
        """The lock's hash recipe: a file's own hash, combined with its dependencies' (as ``composition`` does)."""
        own_hash = content_hash(own(relative).content)
        dependencies = tree.dependencies.get(relative, ())
        if not dependencies or relative in seen:
            return own_hash
        from prompthooks import composition

        combined = composition.combine(own_hash, {target: closure_hash(target, seen | {relative}) for target in dependencies})
        assert combined is not None
        return combined

    actual = closure_hash(entry.path, frozenset())
    if actual != entry.hash:
        raise PromptIntegrityError(name, entry.version, entry.hash, actual, f"the deployed file {entry.path}")
    sources = {relative: promptfile.normalize_newlines(found.text) for relative, found in loaded.items()}
    return DeployedFile(entry, loaded[entry.path].content, sources)


def flattened_hash(tree: Tree, name: str, entry: LockEntry) -> str:
    """The hash the registry's copy of a composed prompt must have: its deployed files, verified, flattened as sync does.

    The flattened copy is a function of the closure's content, which the lock's hash pins: computed once per
    lock entry and settings.  ``TreeError`` when the files are missing or cannot be flattened,
    ``PromptIntegrityError`` when they are not what the lock says.
    """
    key = (tree.root, entry.path, entry.hash, tree.settings)
    with _lock:
        found = _flattened.get(key)
    if found is not None:
        return found
    from prompthooks import config, flatten
    from prompthooks.errors import FatalError
    from prompthooks.hashing import content_hash

    deployed = content_of(tree, name, entry)
    try:
        text = flatten.self_contained(entry, deployed.content, deployed.sources, tree.settings or config.DEFAULT, check=False)
    except FatalError as error:
        raise TreeError(str(error)) from None
    computed = content_hash(deployed.content._replace(body=text))
    with _lock:
        _flattened[key] = computed
    return computed


def reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
