"""``prompthooks merge-lock`` (a git merge driver for prompts.lock) and ``prompthooks install``."""

from __future__ import annotations

import os
import shlex
import sys

from prompthooks import config, fileio, git, lockfile, mergelock
from prompthooks.errors import FatalError

DRIVER = "prompthooks"
DRIVER_ARGUMENTS = "merge-lock %O %A %B %P"


def driver_command(python: str) -> str:
    """The merge driver as git runs it (through ``sh``): this interpreter by absolute path, so it
    works where prompthooks is not on PATH (pre-commit's environment, an unactivated virtualenv)."""
    if not python or not os.path.isabs(python) or not os.access(python, os.X_OK):
        raise FatalError(
            f"cannot tell which Python runs prompthooks ({python or 'sys.executable is empty'}); "
            f"set it by hand: git config merge.{DRIVER}.driver '/path/to/python -m prompthooks {DRIVER_ARGUMENTS}'"
        )
    return f"{shlex.quote(python)} -m prompthooks {DRIVER_ARGUMENTS}"


def _read(path: str, label: str) -> dict[str, lockfile.LockEntry]:
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        return {}
    return lockfile.parse(raw, label) if raw.strip() else {}


def _read_retired(path: str, label: str) -> dict[str, str]:
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        return {}
    return lockfile.parse_with_retired(raw, label)[1] if raw.strip() else {}


def _merged_retired(ours: str, theirs: str, label: str, entries: dict[str, lockfile.LockEntry]) -> dict[str, str]:
    """Both sides' tombstones, the higher version of each; a name back in the lock needs none."""
    from prompthooks import lockplan

    merged = lockplan.merge_retired(_read_retired(ours, f"{label} (ours)"), _read_retired(theirs, f"{label} (theirs)"))
    return {name: version for name, version in merged.items() if name not in entries}


def _read_fragments(path: str, label: str) -> dict[str, lockfile.FragmentEntry]:
    try:
        with open(path, "rb") as file:
            return lockfile.parse_fragments(file.read(), label)
    except FileNotFoundError:
        return {}


def _uses_dependencies(path: str) -> bool:
    try:
        with open(path, "rb") as file:
            return lockfile.uses_dependencies(file.read())
    except FileNotFoundError:
        return False


def _merge_fragments(base: str, ours: str, theirs: str, label: str) -> dict[str, lockfile.FragmentEntry]:
    """Fragments carry no version: take each side's change; `prompthooks lock` rehashes the merged files anyway."""
    old, mine, other = (_read_fragments(path, f"{label} ({side})") for path, side in ((base, "base"), (ours, "ours"), (theirs, "theirs")))
    merged = {}
    for path in sorted(set(old) | set(mine) | set(other)):
        chosen = other.get(path) if mine.get(path) == old.get(path) else mine.get(path)
        if chosen is not None:
            merged[path] = chosen
    return merged


def merge_lock(base: str, ours: str, theirs: str, name: str | None) -> int:
    """Merge the three locks into ``ours``; exit 1 leaves the merge stopped for a human or `prompthooks lock`."""
    label = name or "prompts.lock"
    result = mergelock.merge(_read(base, f"{label} (base)"), _read(ours, f"{label} (ours)"), _read(theirs, f"{label} (theirs)"))
    retired = _merged_retired(ours, theirs, label, result.entries)
    composed = any(_uses_dependencies(path) for path in (ours, theirs))
    fragments = _merge_fragments(base, ours, theirs, label)
    fileio.write_if_changed(ours, lockfile.render(result.entries, fragments=fragments, composed=composed, retired=retired))
    for line in result.semver_conflicts:
        print(f"{label}: conflict: {line}", file=sys.stderr)
    for line in result.to_recompute:
        print(f"{label}: {line}", file=sys.stderr)
    if result.semver_conflicts or result.to_recompute:
        print(f"{label}: resolve the prompt files, run `prompthooks lock`, then stage {label}", file=sys.stderr)
        return 1
    return 0


def _git_config(root: str, *args: str) -> str:
    result = git.run(["config", *args], cwd=root)
    return result.stdout.decode().strip() if result.returncode == 0 else ""


def install(root: str) -> int:
    """Configure the merge driver in .git/config and .gitattributes; running it again changes nothing."""
    changed = []
    command = driver_command(sys.executable)
    for key, value in ((f"merge.{DRIVER}.name", "prompthooks: merge prompts.lock"), (f"merge.{DRIVER}.driver", command)):
        if _git_config(root, "--get", key) != value:
            if git.run(["config", key, value], cwd=root).returncode != 0:
                raise FatalError(f"could not set {key} in the git config")
            changed.append(f"git config {key}")
    lock_path = config.load(root).lock
    line = f"{lock_path} merge={DRIVER}"
    attributes = os.path.join(root, ".gitattributes")
    try:
        with open(attributes, "rb") as file:
            current = file.read().decode()
    except FileNotFoundError:
        current = ""
    if line not in current.splitlines():
        separator = "" if not current or current.endswith("\n") else "\n"
        fileio.write_if_changed(attributes, (current + separator + line + "\n").encode())
        changed.append(".gitattributes")
    if changed:
        print(f"prompthooks: installed the {lock_path} merge driver ({', '.join(changed)}); commit .gitattributes")
    else:
        print(f"prompthooks: the {lock_path} merge driver is already installed")
    print(f"prompthooks: git runs it as: {command}")
    if os.sep + "pre-commit" + os.sep in sys.executable:
        print("prompthooks: that Python is in pre-commit's cache: run this again after `pre-commit autoupdate` or `pre-commit gc`")
    return 0
