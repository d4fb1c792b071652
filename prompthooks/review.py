"""What changed in the prompts between two states, and how to show it in review (pure)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from prompthooks import variables, versioning
from prompthooks.hashing import PromptContent, canonical_json, content_hash
from prompthooks.records import LockEntry
from prompthooks.versioning import Increment


class Version(NamedTuple):
    """One prompt on one side of a diff."""

    entry: LockEntry
    content: PromptContent
    variables: tuple[str, ...]
    dependencies: Mapping[str, PromptContent] = {}  # every template it uses, directly or not, by path (never mutated)


class PromptChange(NamedTuple):
    name: str
    status: str  # added, removed, renamed, changed
    old: Version | None
    new: Version | None
    bump: Increment | None  # the bump the versions show (changed prompts)
    required: Increment | None  # the smallest bump the change allows
    why: str
    variables_added: tuple[str, ...]
    variables_removed: tuple[str, ...]
    front_matter: tuple[tuple[str, str | None, str | None], ...]  # key, old JSON, new JSON
    body_diff: tuple[str, ...]
    dependencies_changed: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (path, unified diff) of each used template that changed
    own_changed: bool = True  # the prompt's own body or front matter changed (not only what it uses)

    @property
    def too_small(self) -> bool:
        return self.bump is not None and self.required is not None and self.bump < self.required


def _front_matter_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[tuple[str, str | None, str | None], ...]:
    changes = []
    for key in sorted(set(old) | set(new)):
        before = canonical_json(old[key]) if key in old else None
        after = canonical_json(new[key]) if key in new else None
        if before != after:
            changes.append((key, before, after))
    return tuple(changes)


def _dependency_note(paths: list[str], own_changed: bool, show: Callable[[str], str]) -> str:
    if not paths:
        return ""
    what = "dependencies" if len(paths) > 1 else "dependency"
    return f"{'content and ' if own_changed else ''}{what} {', '.join(show(path) for path in paths)} changed"


def _unified(before: str | None, after: str | None, path: str) -> tuple[str, ...]:
    """A unified diff of one file; None: absent on that side."""
    return tuple(
        difflib.unified_diff(
            (before or "").splitlines(), (after or "").splitlines(),
            f"a/{path}" if before is not None else "/dev/null", f"b/{path}" if after is not None else "/dev/null", lineterm="",
        )
    )


def _dependencies_changed(old: Version, new: Version) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The templates the prompt uses, on either side, whose content differs (one that appears or goes counts)."""
    changed = []
    for path in sorted(set(old.dependencies) | set(new.dependencies)):
        before, after = old.dependencies.get(path), new.dependencies.get(path)
        if before is None or after is None or content_hash(before) != content_hash(after):
            changed.append((path, _unified(before.body if before else None, after.body if after else None, path)))
    return tuple(changed)


def _compare(name: str, old: Version | None, new: Version | None) -> PromptChange | None:
    # Content decides what changed, whatever a (possibly stale) lock claims.
    own_changed = old is None or new is None or content_hash(old.content) != content_hash(new.content)
    content_changed = own_changed
    if old is not None and new is not None and (old.entry.dependencies or new.entry.dependencies):
        content_changed = content_changed or old.entry.hash != new.entry.hash  # a dependency changed
    if not content_changed and old.entry.path == new.entry.path:  # type: ignore[union-attr]
        return None
    before = old.content if old else PromptContent("", {})
    after = new.content if new else PromptContent("", {})
    old_path = old.entry.path if old else "/dev/null"
    new_path = new.entry.path if new else "/dev/null"
    body_diff = tuple(
        difflib.unified_diff(
            before.body.splitlines(), after.body.splitlines(), f"a/{old_path}" if old else old_path, f"b/{new_path}" if new else new_path, lineterm=""
        )
    )
    old_variables, new_variables = (old.variables if old else ()), (new.variables if new else ())
    bump = required = None
    why = ""
    dependencies: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        status = "changed" if content_changed else "renamed"
        bump = versioning.increment_between(versioning.parse_version(old.entry.version), versioning.parse_version(new.entry.version))
        if status == "changed":
            assert old is not None and new is not None
            required, why = variables.required_increment(old_variables, new_variables, old.entry.optional, new.entry.optional)
            dependencies = _dependencies_changed(old, new)
            if dependencies and required == Increment.PATCH:  # the interface did not move: what changed is the reason
                why = _dependency_note([path for path, _ in dependencies], own_changed, str)
        else:
            required, why = Increment.NONE, "renamed only"
    return PromptChange(
        name,
        status,
        old,
        new,
        bump,
        required,
        why,
        tuple(sorted(set(new_variables) - set(old_variables))),
        tuple(sorted(set(old_variables) - set(new_variables))),
        _front_matter_changes(before.metadata, after.metadata),
        body_diff,
        dependencies,
        own_changed,
    )


def compare(base: Mapping[str, Version], target: Mapping[str, Version]) -> list[PromptChange]:
    changes = [_compare(name, base.get(name), target.get(name)) for name in sorted(set(base) | set(target))]
    return [change for change in changes if change is not None]


def _versions(change: PromptChange, arrow: str) -> str:
    old = change.old.entry.version if change.old else None
    new = change.new.entry.version if change.new else None
    if old and new:
        return f"{old} {arrow} {new}"
    return f"new {new}" if new else f"{old} removed"


def _path(change: PromptChange) -> str:
    if change.old and change.new and change.old.entry.path != change.new.entry.path:
        return f"{change.old.entry.path} -> {change.new.entry.path}"
    return (change.new or change.old).entry.path  # type: ignore[union-attr]


def _bump_text(change: PromptChange, show: Callable[[str], str] = str) -> str:
    if change.bump is None:
        return ""
    text = change.bump.label
    if change.too_small:
        text += f", too small: needs {change.required.label} ({change.why})"  # type: ignore[union-attr]
    note = _dependency_note([path for path, _ in change.dependencies_changed], change.own_changed, show)
    return f"{text}, {note}" if note else text


def _front_matter_text(change: PromptChange) -> str:
    words = []
    for key, before, after in change.front_matter:
        words.append(f"{key} added" if before is None else f"{key} removed" if after is None else f"{key} changed")
    return ", ".join(words)


def render_text(changes: list[PromptChange], base_label: str, target_label: str) -> str:
    lines = [f"{len(changes)} prompt(s) changed between {base_label} and {target_label}"]
    for change in changes:
        bump = _bump_text(change)
        lines.append("")
        lines.append(f"{change.status} {change.name} ({_path(change)}): {_versions(change, '->')}" + (f" [{bump}]" if bump else ""))
        if change.variables_added:
            lines.append("  variables added: " + ", ".join(change.variables_added))
        if change.variables_removed:
            lines.append("  variables removed: " + ", ".join(change.variables_removed))
        if change.front_matter:
            lines.append("  front matter: " + _front_matter_text(change))
        lines.extend("  " + line for line in change.body_diff)
    return "\n".join(lines) + "\n"


def render_markdown(changes: list[PromptChange], base_label: str, target_label: str) -> str:
    lines = [f"### Prompt changes: `{base_label}` → `{target_label}`", ""]
    if not changes:
        return "\n".join(lines + ["No prompt changed.", ""])
    lines += ["| prompt | change | version | bump | variables | front matter |", "|---|---|---|---|---|---|"]
    for change in changes:
        variables_text = " ".join([f"+`{name}`" for name in change.variables_added] + [f"−`{name}`" for name in change.variables_removed])
        bump = _bump_text(change, lambda path: f"`{path}`").replace(", too small", " ⚠️ too small")
        lines.append(
            f"| `{change.name}` | {change.status} | {_versions(change, '→')} | {bump} | {variables_text} | {_front_matter_text(change)} |"
        )
    for change in changes:
        lines += ["", f"<details><summary><code>{change.name}</code> {_versions(change, '→')}</summary>", ""]
        if change.front_matter:
            lines += ["Front matter:", ""]
            for key, before, after in change.front_matter:
                lines.append(f"- `{key}`: `{before}` → `{after}`")
            lines.append("")
        if change.body_diff or not change.dependencies_changed:
            lines += ["```diff", *change.body_diff, "```"]
        for path, dependency_diff in change.dependencies_changed:
            lines += ["", f"Dependency `{path}`:", "", "```diff", *dependency_diff, "```"]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def render_json(changes: list[PromptChange], base_label: str, target_label: str) -> str:
    def side(version: Version | None) -> dict[str, Any] | None:
        if version is None:
            return None
        return {"path": version.entry.path, "version": version.entry.version, "hash": version.entry.hash, "variables": list(version.variables)}

    document = {
        "base": base_label,
        "target": target_label,
        "prompts": [
            {
                "name": change.name,
                "status": change.status,
                "old": side(change.old),
                "new": side(change.new),
                "bump": change.bump.label if change.bump is not None else None,
                "required_bump": change.required.label if change.required is not None else None,
                "bump_too_small": change.too_small,
                "reason": change.why,
                "variables_added": list(change.variables_added),
                "variables_removed": list(change.variables_removed),
                "front_matter": [{"key": key, "old": before, "new": after} for key, before, after in change.front_matter],
                "diff": "\n".join(change.body_diff),
                "dependencies_changed": [{"path": path, "diff": "\n".join(lines)} for path, lines in change.dependencies_changed],
            }
            for change in changes
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
