"""Prompts built from other templates: resolve their references, hash their closures, name what changed (pure).

A Jinja name is looked up along ``search_path`` like Jinja's ``FileSystemLoader``
would (default: the prompt's folder, then the repository root); a Dotprompt
partial ``{{> name}}`` is ``_name.prompt`` in the prompt's folder.  Only files
the hook selects (``include``) can be dependencies.

The hash of a file with dependencies covers them: ``H(f)`` is ``f``'s own
content hash when it has none, else the sha256 of ``{"hash": own(f),
"dependencies": {path: H(d)}}`` over its direct dependencies.  So a prompt
without dependencies keeps the hash it always had, and a change anywhere in
a closure changes every hash above it.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from prompthooks import globs
from prompthooks.config import Config
from prompthooks.errors import FatalError, raise_collected
from prompthooks.records import DYNAMIC, INCLUDE_IF_PRESENT, JINJA_SUFFIXES, PARTIAL, SHARES_CONTEXT, FragmentEntry, LockEntry, PromptFile

DOTPROMPT_SUFFIX: Final = ".prompt"


def is_fragment(path: str, config: Config) -> bool:
    """Files that only exist to be used by prompts: Jinja files matching ``fragments``, Dotprompt ``_`` partials."""
    name = posixpath.basename(path)
    if path.endswith(DOTPROMPT_SUFFIX):
        return name.startswith("_")
    return path.endswith(JINJA_SUFFIXES) and bool(_fragment_pattern(config.fragments).match(name))


@functools.lru_cache(maxsize=8)
def _fragment_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return globs.compile_patterns(patterns)


def candidates(path: str, kind: str, name: str, config: Config) -> list[str]:
    """Where a reference from ``path`` may point, in lookup order."""
    folder = posixpath.dirname(path)
    if kind == PARTIAL:
        return [posixpath.join(folder, f"_{name}{DOTPROMPT_SUFFIX}")]
    segments = name.split("/")
    if ".." in segments or not name:
        return []  # Jinja's FileSystemLoader refuses names leaving its folder
    found = []
    for entry in config.search_path:
        base = posixpath.join(folder, entry[1:].lstrip("/")) if entry == "." or entry.startswith("./") else entry.strip("/")
        found.append(posixpath.normpath(posixpath.join(base, *[segment for segment in segments if segment not in ("", ".")])))
    return list(dict.fromkeys(found))


class Graph(NamedTuple):
    dependencies: dict[str, tuple[str, ...]]  # path -> its direct dependencies, sorted
    shared: dict[str, tuple[str, ...]]  # path -> the direct dependencies that see its variables (include, extends, ...)


def build(files: Mapping[str, PromptFile], config: Config) -> Graph:
    """Resolve every reference; missing and dynamic ones and cycles are errors naming file and line."""
    dependencies: dict[str, tuple[str, ...]] = {}
    shared: dict[str, tuple[str, ...]] = {}
    errors: list[FatalError] = []
    lines: dict[tuple[str, str], int] = {}
    for path, file in files.items():
        direct: set[str] = set()
        sharing: set[str] = set()
        for kind, name, line in file.references:
            if kind == DYNAMIC:
                if not config.allow_unresolved:
                    errors.append(
                        FatalError(
                            f"dynamic {name}: the template name is computed at render time, so it cannot be locked; "
                            "use a literal name, or set allow_unresolved = true under [tool.prompthooks]",
                            path=path,
                            line=line,
                        )
                    )
                continue
            looked = candidates(path, kind, name, config)
            target = next((candidate for candidate in looked if candidate in files), None)
            if target is None:
                if kind != INCLUDE_IF_PRESENT and not config.allow_unresolved:
                    where = ", ".join(looked) or "nowhere: the name leaves the search path"
                    errors.append(
                        FatalError(
                            f"{kind} {name!r} not found (looked for {where} among the files selected by include); "
                            "add the file, fix the name, or set allow_unresolved = true under [tool.prompthooks]",
                            path=path,
                            line=line,
                        )
                    )
                continue
            direct.add(target)
            lines.setdefault((path, target), line)
            if kind in SHARES_CONTEXT:
                sharing.add(target)
        dependencies[path] = tuple(sorted(direct))
        shared[path] = tuple(sorted(sharing))
    raise_collected(errors)
    raise_collected(_cycles(dependencies, lines))
    return Graph(dependencies, shared)


def _cycles(dependencies: Mapping[str, Sequence[str]], lines: Mapping[tuple[str, str], int]) -> list[FatalError]:
    errors: list[FatalError] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    reported: set[frozenset[str]] = set()

    def visit(path: str, trail: list[str]) -> None:
        state[path] = 1
        trail.append(path)
        for target in dependencies.get(path, ()):
            if state.get(target) == 1:
                cycle = trail[trail.index(target) :] + [target]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    errors.append(
                        FatalError(
                            f"dependency cycle: {' -> '.join(cycle)}; a template cannot use itself",
                            path=path,
                            line=lines.get((path, target)),
                        )
                    )
            elif state.get(target) is None:
                visit(target, trail)
        trail.pop()
        state[path] = 2

    for path in sorted(dependencies):
        if path not in state:
            visit(path, [])
    return errors


def combine(own: str, dependencies: Mapping[str, str | None]) -> str | None:
    """``H(f)`` from ``f``'s own hash and its direct dependencies' ``H`` (None when one is unknown)."""
    if not dependencies:
        return own
    if any(value is None for value in dependencies.values()):
        return None
    import hashlib  # only for prompts with dependencies

    from prompthooks.hashing import canonical_json

    document = canonical_json({"hash": own, "dependencies": dict(dependencies)})
    return "sha256:" + hashlib.sha256(document.encode()).hexdigest()


def closure_hashes(files: Mapping[str, PromptFile], graph: Graph) -> dict[str, str]:
    """``H`` of every file, dependencies first (the graph has no cycles)."""
    hashes: dict[str, str] = {}

    def of(path: str) -> str:
        if path not in hashes:
            found = combine(files[path].hash, {target: of(target) for target in graph.dependencies[path]})
            assert found is not None
            hashes[path] = found
        return hashes[path]

    for path in files:
        of(path)
    return hashes


def interface(path: str, files: Mapping[str, PromptFile], graph: Graph) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) over what renders with the prompt: itself and what sees its variables."""
    required: set[str] = set()
    optional: set[str] = set()
    seen: set[str] = set()
    pending = [path]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        required.update(files[current].variables)
        optional.update(files[current].optional)
        pending.extend(graph.shared[current])
    return tuple(sorted(required)), tuple(sorted(optional - required))


class Baseline(NamedTuple):
    """What a baseline lock says about every file it locked: ``H`` and direct dependencies, by path."""

    hashes: dict[str, str]
    dependencies: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, entries: Mapping[str, LockEntry], fragments: Mapping[str, FragmentEntry]) -> Baseline:
        hashes = {entry.path: entry.hash for entry in entries.values()}
        dependencies = {entry.path: entry.dependencies for entry in entries.values()}
        for path, fragment in fragments.items():
            hashes[path] = fragment.hash
            dependencies[path] = fragment.dependencies
        return cls(hashes, dependencies)


def changed_dependencies(path: str, files: Mapping[str, PromptFile], graph: Graph, hashes: Mapping[str, str], baseline: Baseline) -> list[str]:
    """The files in ``path``'s closure whose own change explains its new hash, deepest named."""
    found: list[str] = []
    for target in graph.dependencies[path]:
        if baseline.hashes.get(target) == hashes[target]:
            continue
        before = {dependency: baseline.hashes.get(dependency) for dependency in graph.dependencies[target]}
        if graph.dependencies[target] and combine(files[target].hash, before) == baseline.hashes.get(target):
            found.extend(changed_dependencies(target, files, graph, hashes, baseline))
        else:
            found.append(target)
    return sorted(set(found))


def own_unchanged(path: str, files: Mapping[str, PromptFile], graph: Graph, baseline_hash: str, baseline: Baseline) -> bool:
    """Would ``path`` hash to ``baseline_hash`` with its dependencies as they were? Then only they changed."""
    before = {dependency: baseline.hashes.get(dependency) for dependency in graph.dependencies[path]}
    return combine(files[path].hash, before) == baseline_hash
