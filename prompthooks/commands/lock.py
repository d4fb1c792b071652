"""``prompthooks lock``: the fixer behind the ``prompthooks-lock`` hook."""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence

from prompthooks import fileio
from prompthooks.errors import FatalError
from prompthooks.lockplan import Change, Stamp
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


def _closure(path: str, workspace: Workspace) -> list[str]:
    """``path`` and every template it uses, directly or not (the files its registered copy is made of)."""
    plan = workspace.plan
    direct = {entry.path: entry.dependencies for entry in plan.entries.values()}
    direct.update((fragment, entry.dependencies) for fragment, entry in plan.fragments.items())
    found: list[str] = []
    pending = [path]
    while pending:
        current = pending.pop()
        if current not in found:
            found.append(current)
            pending.extend(direct.get(current, ()))
    return found


def mlflow_warnings(workspace: Workspace, changes: Sequence[Change]) -> list[str]:
    """One line per Dotprompt among ``changes`` whose text MLflow's ``format()`` leaves partly as written.

    Said when the prompt changes, beside its new version: such a prompt is valid Dotprompt, so it is no error.
    """
    dotprompts = [change for change in changes if change.new_version is not None and change.path.endswith(".prompt")]
    if not dotprompts:
        return []  # no Handlebars to read: its module (and regular expressions) not imported
    from prompthooks import handlebars, promptfile

    lines = []
    for change in dotprompts:
        found: list[tuple[str, handlebars.Unrenderable]] = []
        for path in _closure(change.path, workspace):
            try:
                with open(path, "rb") as file:
                    text, document, content = promptfile.load(file.read(), path)
            except OSError:  # outside a sparse checkout: its text is the index's, and it did not change here
                continue
            first_body_line = text.count("\n", 0, len(text) - len(document.body)) + 1
            found += [(path, tag) for tag in handlebars.mlflow_unrenderable(content.body, first_body_line)]
        if found:
            path, first = found[0]
            more = f" (and {len(found) - 1} more Handlebars tag{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
            lines.append(
                f"{path}:{first.line}: warning: {change.name}: MLflow's format() leaves {first.tag}{more} as written; "
                "render this prompt with a Dotprompt implementation, not load_prompt(...).format()"
            )
    return lines


def lock(workspace: Workspace, *, quiet: bool, cwd: str | None = None, written_into: dict[str, bytes] | None = None) -> int:
    """Write the lock and stamp front matters; 1 when anything was written.

    ``written_into`` receives each file it stamped or wrote, with its new bytes.
    """
    plan = workspace.plan
    # Every new byte is computed before the first write, so an error leaves all files as they were.
    stamped = {stamp.path: stamped_bytes(stamp) for stamp in plan.stamps}
    if written_into is not None:
        written_into.update(stamped)
    written = [path for path, data in stamped.items() if fileio.write_if_changed(path, data)]
    lock_path = workspace.config.lock
    lock_wanted = workspace.current_raw is not None or bool(plan.entries)  # no prompts, no lock: no new file
    if lock_wanted and workspace.current_raw != workspace.rendered:
        fileio.write_if_changed(lock_path, workspace.rendered, held=workspace.current_raw)
        written.append(lock_path)
        if written_into is not None:
            written_into[lock_path] = workspace.rendered
    if not written:
        return 0
    if not quiet:
        current = workspace.current or {}
        reported = set()
        described = []
        for change in plan.changes:
            if current.get(change.name) != plan.entries.get(change.name) or change.path in stamped:
                print(change.describe())
                reported.add(change.path)
                described.append(change)
        for stamp in plan.stamps:
            if stamp.path not in reported:
                print(f"{stamp.path}: front matter version set to {stamp.version}")
        for warning in mlflow_warnings(workspace, described):
            print(warning)
        if workspace.current_error is not None:
            print(f"{lock_path}: rebuilt from the prompt files and the baseline lock (it was unreadable: {workspace.current_error.message})")
        elif workspace.current_raw is None:
            print(f"created {lock_path}")
        elif not reported and lock_path in written:
            print(f"{lock_path}: brought up to date (no version changed)")
        print(f"prompthooks: updated {len(written)} file(s); review and stage them: {_add_command(written, cwd)}")
    return 1
