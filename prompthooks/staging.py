"""Is the lock on disk the one git will commit? An untracked or unstaged lock leaves the versions out of git."""

from __future__ import annotations

import os

from prompthooks import git
from prompthooks.workspace import Workspace


def shown_path(root: str, path: str, cwd: str) -> str:
    """``path`` (relative to ``root``) as the user should type it from ``cwd``."""
    return os.path.relpath(os.path.join(root, path), cwd)


def problem(workspace: Workspace, root: str, cwd: str) -> str | None:
    """One line when the lock is right on disk but untracked, or staged with other content; else None.

    (A lock that is wrong on disk is reported by ``lock`` or ``check`` themselves.)
    """
    raw, staged = workspace.current_raw, workspace.lock_staged
    if raw is None or raw != workspace.rendered:
        return None
    if staged is not None and staged == git.blob_id(raw, len(staged)):
        return None
    shown = shown_path(root, workspace.config.lock, cwd)
    state = "is not tracked by git" if staged is None else "differs from its staged content"
    return f"{shown}: {state}, so the commit would not record these versions; stage it: git add {shown}"
