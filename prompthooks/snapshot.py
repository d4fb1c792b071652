"""The lock and its prompts as committed at a git revision, verified like ``prompthooks check``.

Sync and history read prompts from git objects only, never from the working
tree, so uncommitted edits can never reach a registry.
"""

from __future__ import annotations

import posixpath
from typing import NamedTuple

from prompthooks import config, flatten, git, globs, lockfile, lockplan, promptfile, verify
from prompthooks.errors import FatalError
from prompthooks.hashing import PromptContent
from prompthooks.records import CommittedPrompt, LockEntry, PromptFile
from prompthooks.workspace import Workspace

SYMLINK_MODE = 0o120000


class Unflattenable(NamedTuple):
    """A composed prompt whose self-contained copy could not be made faithfully: never registered."""

    name: str
    entry: LockEntry
    reason: str


class Snapshot(NamedTuple):
    commit: str  # full sha
    prompts: list[CommittedPrompt]  # sorted by name; a composed prompt's content is its flattened copy
    unflattenable: list[Unflattenable] = []  # never mutated


def _following_links(files: dict[str, git.TreeFile], path: str) -> bytes:
    found = files.get(path)
    if found is None:
        raise FatalError("is not in the commit", path=path)
    if found.mode == SYMLINK_MODE:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), found.read().decode()))
        if target.startswith("../") or posixpath.isabs(target):
            raise FatalError("symlink points outside the repository; prompts must live in the repository", path=path)
        return _following_links(files, target)
    return found.read()


def read(root: str, ref: str) -> Snapshot:
    """Read and verify the lock at ``ref``; a lock that ``check`` would reject is an error."""
    with git.open_repo(root) as repo:
        commit = git.resolve_commit(repo, ref)
        settings = config.at_commit(repo, commit)
        label = f"{ref}:{settings.lock}"
        raw_lock = git.blob_at(repo, commit, settings.lock)
        if raw_lock is None:
            raise FatalError(f"no {settings.lock} in commit {commit[:12]}; run `prompthooks lock` and commit it", path=label)
        locked, retired = lockfile.parse_with_retired(raw_lock, label)
        locked_fragments = lockfile.parse_fragments(raw_lock, label)
        files: list[tuple[str, PromptFile]] = []
        contents: dict[str, PromptContent] = {}
        sources: dict[str, str] = {}
        tree = git.tree_files(repo, commit)
        locked_at = {entry.path: entry for entry in locked.values()}  # content it locked keeps its recorded interface
        for path in globs.select(tree, settings.include, settings.exclude):
            if path == settings.lock:
                continue
            loaded = promptfile.load(_following_links(tree, path), path)
            promptfile.check_template_size(loaded.content, path, settings.max_template_chars)
            files.append((path, promptfile.summarize(loaded, path, locked_at.get(path))))
            contents[path] = loaded.content
            sources[path] = promptfile.normalize_newlines(loaded.text)
    plan = lockplan.plan(files, locked, settings, None, locked_fragments, not lockfile.uses_dependencies(raw_lock), retired=retired)
    rendered = lockfile.render(plan.entries, fragments=plan.fragments, composed=plan.composed, retired=plan.retired)
    problems = verify.problems(Workspace(settings, plan, locked, raw_lock, rendered, current_fragments=locked_fragments))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise FatalError(f"the lock at {ref} fails `prompthooks check`: {problems[0]}{more}", path=label)
    prompts: list[CommittedPrompt] = []
    unflattenable: list[Unflattenable] = []
    for name, entry in sorted(locked.items()):
        content = contents[entry.path]
        if entry.dependencies:
            try:
                content = content._replace(body=flatten.self_contained(entry, content, sources, settings))
            except FatalError as error:
                unflattenable.append(Unflattenable(name, entry, error.message))
                continue
        prompts.append(CommittedPrompt(name, entry, content))
    return Snapshot(commit, prompts, unflattenable)
