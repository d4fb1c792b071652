"""``prompthooks check --base REF``: would merging into REF give a version two contents?

A branch and its target can each give a prompt the same next version with
other content; a rebase that keeps one side of the conflicting lock hides it
from the branch's own history.  Comparing the branch's lock with the target's
lock and history before the merge catches it where it is still cheap to fix.
"""

from __future__ import annotations

from collections.abc import Mapping

from prompthooks import git, lockfile, lockplan, versionguard
from prompthooks.cache import Cache
from prompthooks.errors import FatalError
from prompthooks.records import LockEntry
from prompthooks.workspace import Workspace


def _short(hash_: str) -> str:
    return hash_[: len("sha256:") + 12]


def _lock_at(root: str, commit: str, lock_path: str) -> tuple[dict[str, LockEntry], dict[str, str]]:
    found = git.read_objects(root, [f"{commit}:{lock_path}"])[0]
    if found is None:
        return {}, {}
    try:
        return lockfile.parse_with_retired(found[1], f"{commit[:12]}:{lock_path}")
    except FatalError:
        return {}, {}  # an unreadable lock there: its history still speaks


def problems(root: str, base: str, entries: Mapping[str, LockEntry], lock_path: str, cache: Cache | None = None) -> list[str]:
    """One line per prompt whose version here would collide with ``base``'s."""
    from prompthooks import versioning

    cache = cache or Cache(None)
    base_commit = git.commit_id(root, base)
    if base_commit is None:
        raise FatalError(f"unknown git revision {base!r} for --base (in CI, fetch it first: git fetch origin <branch>)")
    fork = git.merge_base(root, "HEAD", base_commit)
    forked = _lock_at(root, fork, lock_path)[0] if fork is not None else {}
    base_entries, base_retired = _lock_at(root, base_commit, lock_path)
    held = versionguard.summary(root, lock_path, base_commit, cache).hashes
    fix = f"rebase onto {base} and rerun `prompthooks lock`"
    found = _history_problems(root, base, fork, held, entries, lock_path, fix, cache)
    for name, entry in sorted(entries.items()):
        if forked.get(name) == entry:
            continue  # untouched on this branch: the merge keeps the base's side
        own_hash = None if entry.dependencies else entry.hash  # a composed prompt's own hash is not in the lock
        others = lockplan.other_contents(held.get(name, {}).get(entry.version, frozenset()), entry.hash, own_hash)
        versions = [*held.get(name, {}), *([base_retired[name]] if name in base_retired else [])]
        if name in base_entries:
            versions.append(base_entries[name].version)
        highest = max(versions, key=versioning.parse_version, default=None)
        if others:
            theirs = ", ".join(_short(hash_) for hash_ in sorted(others))
            found.append(
                f"{entry.path}: {name} {entry.version} is {_short(entry.hash)} here but {theirs} in {base}'s lock history; {fix}"
            )
        elif highest is not None and versioning.parse_version(entry.version) < versioning.parse_version(highest):
            found.append(f"{entry.path}: {name} {entry.version} is below {highest}, which {base} already gave it; {fix}")
    return found


def _history_problems(
    root: str,
    base: str,
    fork: str | None,
    base_held: versionguard.Hashes,
    entries: Mapping[str, LockEntry],
    lock_path: str,
    fix: str,
    cache: Cache,
) -> list[str]:
    """A version this branch's commits gave other content than the base did, even if the branch has moved past it.

    Merging brings the branch's history into the base: a prompt that was bumped to 2.0.3 here and then removed
    would leave two 2.0.3s in the base's history (and in `sync --backfill`).  The branch's commits since the
    fork brought in every hash its locks hold that the fork's history did not (the others are the base's too).
    """
    head = git.commit_id(root, "HEAD")
    history = versionguard.summary(root, lock_path, head, cache) if head is not None else versionguard.EMPTY
    branch_held = versionguard.introduced(history, set(git.rev_list(root, ["HEAD", f"^{fork}"])) if fork is not None else None)
    found = []
    for name, versions in sorted(branch_held.items()):
        for version, hashes in sorted(versions.items()):
            current = entries.get(name)
            if current is not None and current.version == version:
                continue  # the entry itself is reported below, with its file
            theirs = frozenset(base_held.get(name, {}).get(version, {}))
            if theirs and hashes - theirs:
                found.append(
                    f"{lock_path}: {name} {version} named {', '.join(_short(hash_) for hash_ in sorted(hashes - theirs))} in this "
                    f"branch's history but {', '.join(_short(hash_) for hash_ in sorted(theirs))} in {base}'s; {fix} (at every commit: "
                    "git rebase --exec 'prompthooks lock; git add -A; git commit --amend --no-edit --no-verify')"
                )
    return found


def report(root: str, base: str, workspace: Workspace, cache: Cache, *, quiet: bool) -> int:
    locked = workspace.current if workspace.current is not None else workspace.plan.entries  # what a merge would take
    found = problems(root, base, locked, workspace.config.lock, cache)
    if not quiet:
        for line in found:
            print(line)
    return 1 if found else 0
