"""``prompthooks diff``: what changed in the prompts between two commits, or a commit and the working tree."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from prompthooks import config, git, inputs, lockfile, promptfile, review, workspace
from prompthooks.cache import Cache
from prompthooks.errors import FatalError
from prompthooks.hashing import PromptContent
from prompthooks.records import FragmentEntry, LockEntry
from prompthooks.review import Version

RENDERERS = {"text": review.render_text, "markdown": review.render_markdown, "json": review.render_json}


Read = Callable[[str], bytes | None]  # a file's bytes on one side of the diff, None when it is not there


def _closure(entry: LockEntry, direct: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Every template ``entry`` uses, directly or through others, as the lock records them."""
    found: list[str] = []
    pending = list(entry.dependencies)
    while pending:
        path = pending.pop()
        if path not in found and path != entry.path:
            found.append(path)
            pending.extend(direct.get(path, ()))
    return sorted(found)


def _version(raw: bytes, entry: LockEntry, direct: Mapping[str, tuple[str, ...]], read: Read) -> Version:
    loaded = promptfile.load(raw, entry.path)
    dependencies: dict[str, PromptContent] = {}
    for path in _closure(entry, direct):
        found = read(path)
        if found is not None:
            dependencies[path] = promptfile.load(found, path).content
    if entry.dependencies and entry.variables is not None:
        return Version(entry, loaded.content, entry.variables, dependencies)  # the interface of the whole closure, as locked
    return Version(entry, loaded.content, promptfile.summarize(loaded, entry.path).variables, dependencies)


def _direct(entries: Mapping[str, LockEntry], fragments: Mapping[str, FragmentEntry]) -> dict[str, tuple[str, ...]]:
    """Each locked file's direct dependencies, prompts and fragments alike."""
    direct = {entry.path: entry.dependencies for entry in entries.values()}
    direct.update((path, fragment.dependencies) for path, fragment in fragments.items())
    return direct


def _at_commit(repo: git.Repo, commit: str) -> dict[str, Version]:
    lock_path = config.at_commit(repo, commit).lock
    raw_lock = git.blob_at(repo, commit, lock_path)
    if raw_lock is None:
        return {}
    versions = {}
    tree = git.tree_files(repo, commit)
    label = f"{commit[:12]}:{lock_path}"
    entries = lockfile.parse(raw_lock, label)
    direct = _direct(entries, lockfile.parse_fragments(raw_lock, label))

    def read(path: str) -> bytes | None:
        return tree[path].read() if path in tree else None

    for name, entry in entries.items():
        if entry.path not in tree:
            raise FatalError(f"{entry.path} is locked as {name} but missing from commit {commit[:12]}")
        versions[name] = _version(tree[entry.path].read(), entry, direct, read)
    return versions


def _read_file(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None


def _in_working_tree(root: str) -> dict[str, Version]:
    """The prompts on disk, with the versions `prompthooks lock` would give them."""
    os.chdir(root)
    configured = config.load(root)
    collected = inputs.collect(root, configured, current_lock=inputs.read_lock(configured))
    planned = workspace.evaluate(collected, Cache(None)).plan
    direct = _direct(planned.entries, planned.fragments)
    versions = {}
    for name, entry in planned.entries.items():
        with open(entry.path, "rb") as file:
            versions[name] = _version(file.read(), entry, direct, _read_file)
    return versions


def diff(root: str, base: str | None, target: str | None, *, output: str, check_bumps: bool) -> int:
    git.require_commits(root, "diff")
    with git.open_repo(root) as repo:
        base_commit = git.resolve_commit(repo, base) if base else git.default_branch_base(repo)
        before = _at_commit(repo, base_commit)
        target_commit = git.resolve_commit(repo, target) if target else None
        after = _at_commit(repo, target_commit) if target_commit else None
    if after is None:
        after = _in_working_tree(root)
    changes = review.compare(before, after)
    target_label = target_commit[:12] if target_commit else "working tree"
    print(RENDERERS[output](changes, base_commit[:12], target_label), end="")
    too_small = [change for change in changes if change.too_small]
    if check_bumps and too_small:
        for change in too_small:
            old, new = change.old.entry.version, change.new.entry.version  # type: ignore[union-attr]
            print(
                f"{change.new.entry.path}: {change.name} {old} -> {new} is a {change.bump.label} bump, "  # type: ignore[union-attr]
                f"the change needs {change.required.label} ({change.why})",  # type: ignore[union-attr]
                file=sys.stderr,
            )
        return 1
    return 0
