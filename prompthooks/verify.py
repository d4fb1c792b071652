"""Is a lock what the hook would write? Shared by ``check`` and by commands that read a committed lock."""

from __future__ import annotations

from prompthooks.workspace import Workspace


def _short(hash_: str) -> str:
    return hash_[: len("sha256:") + 12]


def problems(workspace: Workspace) -> list[str]:
    """One line per stale or inconsistent lock entry or front matter."""
    lock_path = workspace.config.lock
    plan = workspace.plan
    if workspace.current_error is not None:
        return [str(workspace.current_error)]
    if workspace.current is None:
        return [f"{lock_path}: missing ({len(plan.entries)} prompt(s) to lock)"] if plan.entries else []
    found: list[str] = []
    current = workspace.current
    reasons = {change.name: change for change in plan.changes}
    for name in sorted(set(current) | set(plan.entries)):
        locked, wanted = current.get(name), plan.entries.get(name)
        if locked == wanted:
            continue
        if wanted is None:
            assert locked is not None
            found.append(f"{lock_path}: {name}: locked at {locked.path} but no prompt file has this name")
        elif locked is None:
            found.append(f"{wanted.path}: {name}: not in {lock_path} (new prompt, version {wanted.version})")
        elif locked.hash != wanted.hash or locked.version != wanted.version:
            change = reasons.get(name)
            why = f" ({change.reason})" if change is not None and change.reason else ""
            found.append(
                f"{wanted.path}: {name}: {lock_path} has {locked.version} {_short(locked.hash)}, "
                f"the prompt needs {wanted.version}{why} {_short(wanted.hash)}"
            )
        else:
            found.append(f"{wanted.path}: {name}: {lock_path} has path {locked.path}")
    found += _fragment_problems(workspace)
    for stamp in plan.stamps:
        if stamp.drop_bump:
            found.append(f"{stamp.path}: front matter needs version {stamp.version} with its 'bump' consumed")
        else:
            found.append(f"{stamp.path}: front matter needs version {stamp.version}")
    if not found and workspace.current_raw != workspace.rendered:
        found.append(f"{lock_path}: not in canonical form (was it edited by hand?)")
    return found


def _fragment_problems(workspace: Workspace) -> list[str]:
    lock_path = workspace.config.lock
    locked, wanted = workspace.current_fragments or {}, workspace.plan.fragments
    found: list[str] = []
    for path in sorted(set(locked) | set(wanted)):
        if path not in wanted:
            found.append(f"{lock_path}: fragment {path} is locked but is no fragment file")
        elif path not in locked:
            found.append(f"{path}: fragment not in {lock_path}")
        elif locked[path] != wanted[path]:
            found.append(f"{path}: fragment: {lock_path} has {_short(locked[path].hash)}, the file needs {_short(wanted[path].hash)}")
    return found
