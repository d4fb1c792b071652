"""Decide every prompt's locked version from its file and the lock at HEAD (pure)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Final, NamedTuple

from prompthooks.config import Config
from prompthooks.contract import variable_stem, version_variable
from prompthooks.errors import FatalError, raise_collected
from prompthooks.records import FragmentEntry, LockEntry, PromptFile

NAME_RULE: Final = re.compile(r"[A-Za-z0-9_.-]+\Z")
RESERVED_PREFIX: Final = "prompthooks-lease."  # services.lease: an environment's deploy lease is a registered model of that name


class Change(NamedTuple):
    name: str
    path: str
    old_version: str | None  # None: a new prompt
    new_version: str | None  # None: a removed prompt
    reason: str

    def describe(self) -> str:
        if self.old_version is None:
            return f"{self.name}: new {self.new_version} ({self.reason}, {self.path})"
        if self.new_version is None:
            return f"{self.name}: {self.old_version} removed ({self.path})"
        return f"{self.name}: {self.old_version} -> {self.new_version} ({self.reason}, {self.path})"


class Stamp(NamedTuple):
    """A front matter to rewrite: set ``version``, maybe drop the consumed ``bump``."""

    path: str
    version: str
    drop_bump: bool


class LockPlan(NamedTuple):
    entries: dict[str, LockEntry]
    changes: list[Change]  # against the baseline (the lock at HEAD)
    stamps: list[Stamp]
    retired: dict[str, str] = {}  # tombstones to write: name -> highest version it held
    fragments: dict[str, FragmentEntry] = {}  # never mutated
    composed: bool = False  # some file names another template: the lock records the dependency-aware scheme


class Held(NamedTuple):
    """What the lock's git history says about versions."""

    hashes: Mapping[str, Mapping[str, Collection[str]]]  # per name, per version, every hash that version ever named
    highest: Mapping[str, str]  # per name, its highest version (kept apart: unchanged prompts need no semver)


NO_HISTORY: Final = Held({}, {})

CLOSURE_MARK: Final = "+"
"""Marks a history hash that covers a dependency closure; an unmarked one is a file's own hash
(the two are equal for a prompt without dependencies, and every hash of a lock from before
dependencies were hashed is an own hash)."""


def held_hash(entry: LockEntry) -> str:
    """How the lock's history records ``entry``'s hash."""
    return CLOSURE_MARK + entry.hash if entry.dependencies else entry.hash


def other_contents(known: Collection[str], closure_hash: str, own_hash: str | None) -> set[str]:
    """The hashes in ``known`` that name another content than this one.

    ``own_hash`` is the prompt's hash without its dependencies (the closure hash when it has none;
    None when unknown, and then own hashes in history say nothing).
    """
    found = set()
    for held in known:
        if held.startswith(CLOSURE_MARK):
            if held[len(CLOSURE_MARK) :] != closure_hash:
                found.add(held[len(CLOSURE_MARK) :])
        elif own_hash is not None and held != own_hash:
            found.add(held)
    return found


def _names_content(known: Collection[str], closure_hash: str, own_hash: str) -> bool:
    return CLOSURE_MARK + closure_hash in known or own_hash in known


def registry_name(path: str, file: PromptFile, config: Config) -> str:
    if file.name is not None:
        return file.name
    if config.name_from == "path":
        return posixpath.splitext(path)[0].replace("/", ".")
    return posixpath.splitext(posixpath.basename(path))[0]


def name_prompts(files: Sequence[tuple[str, PromptFile]], config: Config) -> dict[str, tuple[str, PromptFile]]:
    """Prompts by registry name; illegal and duplicate names are errors naming the files."""
    named: dict[str, tuple[str, PromptFile]] = {}
    errors: list[FatalError] = []
    for path, file in files:
        name = registry_name(path, file, config)
        if not NAME_RULE.match(name):
            source = "its front-matter 'name'" if file.name is not None else "its file name"
            errors.append(
                FatalError(
                    f"prompt name {name!r} from {source} is not a valid registry name "
                    "(only letters, digits, '_', '.' and '-'); set a valid 'name:' in the front matter",
                    path=path,
                )
            )
        elif name.startswith(RESERVED_PREFIX):
            errors.append(FatalError(f"prompt name {name!r} starts with {RESERVED_PREFIX!r}, which names deploy leases; choose another 'name:'", path=path))
        elif name in named:
            other_path, other = named[name]
            if config.name_from == "path" or (file.name is not None and other.name is not None):
                fix = "give one of them another 'name:' in the front matter, or rename one of the files"
            else:
                fix = "give one of them its own 'name:' in the front matter, or set name_from = \"path\" under [tool.prompthooks]"
            errors.append(FatalError(f"prompt name {name!r} is also used by {other_path}; {fix}", path=path))
        else:
            named[name] = (path, file)
    errors += _environment_collisions(named)
    raise_collected(errors)
    return named


def _environment_collisions(named: Mapping[str, tuple[str, PromptFile]]) -> list[FatalError]:
    """Names that are one environment variable (``tone-guide``, ``tone_guide``): ``export`` and the loader's pin could not tell them apart."""
    first: dict[str, tuple[str, str]] = {}  # stem -> (name, path) that took it, in path order
    errors: list[FatalError] = []
    for name, (path, _) in sorted(named.items(), key=lambda item: item[1][0]):
        stem = variable_stem(name)
        if stem not in first:
            first[stem] = (name, path)
            continue
        other_name, other_path = first[stem]
        errors.append(
            FatalError(
                f"prompt name {name!r} and {other_name!r} ({other_path}) are one environment variable, {version_variable(name)} "
                "(prompthooks export, prompthooks.load); give one of them another 'name:' in the front matter",
                path=path,
            )
        )
    return errors


def merge_baselines(ours: Mapping[str, LockEntry], theirs: Mapping[str, LockEntry]) -> tuple[dict[str, LockEntry], dict[str, set[str]]]:
    """While merging, a prompt's baseline is the parents' entry with the higher version.

    Returns that baseline and, per prompt, the parents' versions: a front matter
    holding either one was not edited by hand, whichever side the merge kept.
    """
    from prompthooks import versioning

    merged = dict(ours)
    parents: dict[str, set[str]] = {}
    for name, entry in theirs.items():
        mine = merged.get(name)
        if mine is None or versioning.parse_version(entry.version) > versioning.parse_version(mine.version):
            merged[name] = entry
        if mine is not None:
            parents[name] = {mine.version, entry.version}
    return merged, parents


def _decide(
    name: str,
    path: str,
    file: PromptFile,
    base: LockEntry | None,
    config: Config,
    parent_versions: set[str],
    held: Held,
    own_hash: str,
) -> tuple[str, str | None]:
    """The version for one prompt and, when it moved, why."""
    if base is None:
        return (file.version or config.initial_version), ("version in front matter" if file.version else "initial version")
    if base.hash == file.hash:
        return base.version, None
    from prompthooks import variables, versioning  # only prompts that changed need semver (imported here: once per changed prompt)
    locked = versioning.parse_version(base.version)
    required, why_required = variables.required_increment(base.variables, file.variables, base.optional, file.optional)
    minimum = versioning.bump(locked, required)
    reverted = file.version is not None and _names_content(held.hashes.get(name, {}).get(file.version, frozenset()), file.hash, own_hash)
    if file.version is not None and file.version != base.version and file.version not in parent_versions and not reverted:
        written = versioning.parse_version(file.version)
        if written < locked:
            raise FatalError(
                f"version {file.version} is lower than the locked {base.version} of {name!r}; "
                f"raise it above {base.version} or remove it to bump automatically",
                path=path,
            )
        if written < minimum:
            return str(minimum), f"{required.label}: {why_required}, so {file.version} from the front matter was too small"
        return file.version, f"{versioning.increment_between(locked, written).label}, version raised in front matter"
    if file.bump is not None:
        increment, why = versioning.parse_increment(file.bump), f"bump: {file.bump} in front matter"
    else:
        increment, why = versioning.parse_increment(config.default_bump), ""
    if increment < required:
        asked = f", so {why or 'the default bump ' + increment.label} was too small"
        return str(minimum), f"{required.label}: {why_required}{asked}"
    return str(versioning.bump(locked, increment)), f"{increment.label}, {why}" if why else increment.label


def _highest(versions: Sequence[str]) -> str | None:
    from prompthooks import versioning

    return max(versions, key=versioning.parse_version, default=None)


def _above_history(
    name: str, version: str, file: PromptFile, base: LockEntry | None, retired: Mapping[str, str], held: Held, own_hash: str
) -> tuple[str, str] | None:
    """A version above every version ``name`` ever held, when ``version`` would reuse one (else None).

    Versions only grow: a version that ever named another content, or one at or
    below a removed prompt's tombstone, is never given to this content.
    """
    tombstone = retired.get(name) if base is None else None
    others = other_contents(held.hashes.get(name, {}).get(version, frozenset()), file.hash, own_hash)
    top = held.highest.get(name)
    if tombstone is None and not others and top in (None, version):
        return None  # the common case, decided without parsing a version
    from prompthooks import versioning
    earlier = _highest([*([top] if top else []), *([tombstone] if tombstone else [])])
    if earlier is None:
        return None
    parsed = versioning.parse_version(version)
    below = parsed < versioning.parse_version(earlier) or (tombstone is not None and parsed <= versioning.parse_version(tombstone))
    if not others and not below:
        return None
    highest = _highest([earlier, version])
    assert highest is not None
    increment = versioning.Increment.PATCH
    if base is not None:
        increment = max(increment, versioning.increment_between(versioning.parse_version(base.version), parsed))
    new = str(versioning.bump(versioning.parse_version(highest), increment))
    if base is None:
        return new, f"{name!r} held versions up to {earlier} before; versions never restart"
    if others:
        return new, f"{version} already named other content in this branch's lock history (a rebase or merge kept one side?)"
    return new, f"{name!r} held {earlier} before; versions only grow (a revert?)"


def retire(baseline: Mapping[str, LockEntry], retired: Mapping[str, str], entries: Mapping[str, LockEntry]) -> dict[str, str]:
    """The tombstones after this plan: every name that left the lock keeps its highest version."""
    result = {name: version for name, version in retired.items() if name not in entries}
    for name, base in baseline.items():
        if name not in entries:
            result[name] = _highest([base.version, *([result[name]] if name in result else [])]) or base.version
    return result


def merge_retired(ours: Mapping[str, str], theirs: Mapping[str, str]) -> dict[str, str]:
    merged = dict(ours)
    for name, version in theirs.items():
        merged[name] = _highest([version, *([merged[name]] if name in merged else [])]) or version
    return merged


class Composed(NamedTuple):
    """Prompts with their dependencies folded in, the fragments to lock, and why each hash moved."""

    prompts: list[tuple[str, PromptFile]]  # hash, variables and optional cover the dependency closure
    dependencies: dict[str, tuple[str, ...]]  # direct, by path
    fragments: dict[str, FragmentEntry]
    notes: dict[str, str]  # path -> "dependency x changed", against the baseline
    migrated: set[str]  # paths whose baseline hash predates dependency hashing and whose own content is unchanged
    own: dict[str, str] = {}  # path -> the hash without dependencies, for prompts that have some


def compose(
    files: Sequence[tuple[str, PromptFile]],
    baseline: Mapping[str, LockEntry],
    baseline_fragments: Mapping[str, FragmentEntry],
    config: Config,
    *,
    legacy_baseline: bool,
) -> Composed:
    from prompthooks import composition

    by_path = dict(files)
    if not any(file.references for _, file in files) and not any(composition.is_fragment(path, config) for path in by_path):
        return Composed(list(files), {}, {}, {}, set())  # the common case: nothing composed
    graph = composition.build(by_path, config)
    hashes = composition.closure_hashes(by_path, graph)
    known = composition.Baseline.of(baseline, baseline_fragments)
    base_by_path = {entry.path: entry for entry in baseline.values()}
    prompts: list[tuple[str, PromptFile]] = []
    fragments: dict[str, FragmentEntry] = {}
    notes: dict[str, str] = {}
    migrated: set[str] = set()
    own_hashes: dict[str, str] = {}
    for path, file in files:
        if composition.is_fragment(path, config):
            fragments[path] = FragmentEntry(hashes[path], graph.dependencies[path])
            continue
        if not graph.dependencies[path]:
            prompts.append((path, file))
            continue
        required, optional = composition.interface(path, by_path, graph)
        prompts.append((path, file._replace(hash=hashes[path], variables=required, optional=optional)))
        own_hashes[path] = file.hash
        base = base_by_path.get(path)
        if base is None or base.hash == hashes[path]:
            continue
        if legacy_baseline and not base.dependencies and base.hash == file.hash:
            migrated.add(path)
            continue
        changed = composition.changed_dependencies(path, by_path, graph, hashes, known)
        if changed:
            own = "" if composition.own_unchanged(path, by_path, graph, base.hash, known) else "content and "
            notes[path] = f"{own}dependenc{'ies' if len(changed) > 1 else 'y'} {', '.join(changed)} changed"
    return Composed(prompts, graph.dependencies, fragments, notes, migrated, own_hashes)


class Prompt(NamedTuple):
    """One prompt to plan: its file, and what composition says about it."""

    name: str
    path: str
    file: PromptFile  # hash, variables and optional cover its dependency closure
    own_hash: str  # the file's own hash (its hash, when it uses no other template)
    dependencies: tuple[str, ...] = ()
    note: str | None = None  # why its hash moved through a dependency


def _one(prompt: Prompt, base: LockEntry | None, config: Config, parent_versions: set[str], held: Held, retired: Mapping[str, str]) -> tuple[LockEntry, Change | None, Stamp | None]:
    """One prompt's lock entry, its change against ``base`` and its front matter stamp; a FatalError for a bad version."""
    name, path, file = prompt.name, prompt.path, prompt.file
    version, reason = _decide(name, path, file, base, config, parent_versions, held, prompt.own_hash)
    if retired or held.highest:
        raised = _above_history(name, version, file, base, retired, held, prompt.own_hash)
        if raised is not None:
            version, reason = raised
    if reason is not None and prompt.note is not None and base is not None:
        reason = f"{reason}, {prompt.note}"
    change = None
    if base is None:
        change = Change(name, path, None, version, reason or "")
    elif reason is not None:
        change = Change(name, path, base.version, version, reason)
    elif base.path != path:
        change = Change(name, path, base.version, version, f"renamed from {base.path}")
    drop_bump = (base is None or base.hash != file.hash) and file.bump is not None
    stamp = Stamp(path, version, drop_bump) if file.has_front_matter and (file.version != version or drop_bump) else None
    return LockEntry(path, version, file.hash, file.variables, file.optional, prompt.dependencies), change, stamp


def plan_one(prompt: Prompt, base: LockEntry | None, config: Config, *, held: Held, retired: Mapping[str, str]) -> tuple[LockEntry, Change | None, Stamp | None]:
    """What ``plan`` decides for one prompt outside a merge, its base and history given (see ``lockpatch``)."""
    return _one(prompt, base, config, set(), held, retired)


def plan(
    files: Sequence[tuple[str, PromptFile]],
    baseline: Mapping[str, LockEntry],
    config: Config,
    parents: Mapping[str, set[str]] | None = None,
    baseline_fragments: Mapping[str, FragmentEntry] | None = None,
    legacy_baseline: bool = True,
    *,
    retired: Mapping[str, str] | None = None,
    held: Held | None = None,
) -> LockPlan:
    """The lock entries, the changes against ``baseline`` and the front matters to stamp.

    ``retired`` (the baseline's tombstones) and ``held`` (the lock's history) keep
    a version from ever naming two contents.
    """
    retired = retired or {}
    held = held or NO_HISTORY
    composed = compose(files, baseline, baseline_fragments or {}, config, legacy_baseline=legacy_baseline)
    entries: dict[str, LockEntry] = {}
    changes: list[Change] = []
    stamps: list[Stamp] = []
    errors: list[FatalError] = []
    for name, (path, file) in sorted(name_prompts(composed.prompts, config).items()):
        base = baseline.get(name)
        if base is not None and path in composed.migrated and base.path == path:
            base = base._replace(hash=file.hash)  # locked before dependencies were hashed: same content, same version
        try:
            entry, change, stamp = _one(
                Prompt(name, path, file, composed.own.get(path, file.hash), composed.dependencies.get(path, ()), composed.notes.get(path)),
                base,
                config,
                (parents or {}).get(name, set()),
                held,
                retired,
            )
        except FatalError as error:
            errors.append(error)
            continue
        entries[name] = entry
        changes += [change] if change is not None else []
        stamps += [stamp] if stamp is not None else []
    raise_collected(errors)
    for name, base in sorted(baseline.items()):
        if name not in entries:
            changes.append(Change(name, base.path, base.version, None, "removed"))
    return LockPlan(
        entries,
        changes,
        stamps,
        retired=retire(baseline, retired, entries),
        fragments=composed.fragments,
        composed=any(file.references for _, file in files),
    )
