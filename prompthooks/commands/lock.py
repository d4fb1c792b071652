"""``prompthooks lock``: the fixer behind the ``prompthooks-lock`` hook."""

from __future__ import annotations

import codecs
import os

from prompthooks import fileio
from prompthooks.errors import FatalError
from prompthooks.lockplan import Stamp
from prompthooks.workspace import Workspace


def stamped_bytes(stamp: Stamp) -> bytes:
    """The file's bytes with its new version stamped, all else unchanged."""
    from prompthooks import frontmatter, promptfile

    with open(stamp.path, "rb") as file:
        raw = file.read()
    text, document, _ = promptfile.load(raw, stamp.path)
    if document.front_matter is None:
        raise FatalError("front matter disappeared while prompthooks was running", path=stamp.path)
    new_text = frontmatter.stamp(text, document.front_matter, stamp.path, version=stamp.version, drop_bump=stamp.drop_bump)
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    return bom + new_text.encode()


def _add_command(paths: list[str], cwd: str | None) -> str:
    """``git add`` for root-relative ``paths`` (the working directory is the root), pasteable in ``cwd``."""
    import shlex

    shown = [os.path.relpath(os.path.abspath(path), cwd) if cwd else path for path in sorted(paths)]
    return "git add " + " ".join(shlex.quote(path.replace(os.sep, "/")) for path in shown)


def lock(workspace: Workspace, *, quiet: bool, cwd: str | None = None, stamps_into: dict[str, bytes] | None = None) -> int:
    """Write the lock and stamp front matters; 1 when anything was written.

    ``stamps_into`` receives each stamped file's new bytes.
    """
    plan = workspace.plan
    # Every new byte is computed before the first write, so an error leaves all files as they were.
    stamped = {stamp.path: stamped_bytes(stamp) for stamp in plan.stamps}
    if stamps_into is not None:
        stamps_into.update(stamped)
    written = [path for path, data in stamped.items() if fileio.write_if_changed(path, data)]
    lock_path = workspace.config.lock
    lock_wanted = workspace.current_raw is not None or bool(plan.entries)  # no prompts, no lock: no new file
    if lock_wanted and workspace.current_raw != workspace.rendered:
        fileio.write_if_changed(lock_path, workspace.rendered)
        written.append(lock_path)
    if not written:
        return 0
    if not quiet:
        current = workspace.current or {}
        reported = set()
        for change in plan.changes:
            if current.get(change.name) != plan.entries.get(change.name) or change.path in stamped:
                print(change.describe())
                reported.add(change.path)
        for stamp in plan.stamps:
            if stamp.path not in reported:
                print(f"{stamp.path}: front matter version set to {stamp.version}")
        if workspace.current_error is not None:
            print(f"{lock_path}: rebuilt from the prompt files and the baseline lock (it was unreadable: {workspace.current_error.message})")
        elif workspace.current_raw is None:
            print(f"created {lock_path}")
        elif not reported and lock_path in written:
            print(f"{lock_path}: brought up to date (no version changed)")
        print(f"prompthooks: updated {len(written)} file(s); review and stage them: {_add_command(written, cwd)}")
    return 1
