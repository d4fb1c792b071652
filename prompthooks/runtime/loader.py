"""``load``: which version, from where, verified, cached, and what happens when the registry fails.

Which version: ``version=``; else ``PROMPT_<NAME>_VERSION``; else ``env=`` / ``PROMPTHOOKS_ENV``
(an MLflow alias, and its A/B split); else the deployed tree's lock.  Where from: the
registry when ``MLFLOW_TRACKING_URI`` is set and mlflow is installed, else the deployed tree.

Verified against git: a registry version is checked (``registry.stored.problem_of``) against the
deployed tree's lock entry of that version, else the pin naming it (``PROMPT_<NAME>_HASH``);
only with neither does the registry's own tag vouch for its text (refused with
``PROMPTHOOKS_REQUIRE_GIT_HASH``).  A deployed lock that is there but cannot be read is refused,
never taken for "no lock".  Nothing ``load`` raises carries a credential.

The cache keeps one *resolution* per request: the verified prompt of every arm, and the
split.  Pinned semvers never expire; an environment's resolution is fresh for the TTL, then
served at once while one background fetch refreshes it (stale-while-revalidate).  Registry
requests run in a worker thread the caller waits for at most the deadline; a late answer
still lands in the cache.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks import contract
from prompthooks.runtime import split as splits
from prompthooks.runtime import tree as trees
from prompthooks.runtime.errors import PromptIntegrityError, PromptUnavailableError
from prompthooks.runtime.prompt import Prompt, Source

if TYPE_CHECKING:
    from prompthooks.records import LockEntry
    from prompthooks.registry.stored import FromGit, StoredVersion
    from prompthooks.runtime.reader import RuntimeReader

logger: Final = logging.getLogger("prompthooks")

DEFAULT_TTL: Final = 60.0
DEFAULT_DEADLINE: Final = 2.0
MAX_RETRY_DELAY: Final = 5.0  # a failing registry is asked again at most this often


class Request(NamedTuple):
    name: str
    semver: str | None  # a pinned version
    environment: str | None  # an alias, when no version is pinned
    wanted_hash: str | None  # the git hash of ``semver`` known up front: PROMPT_<NAME>_HASH when the pin names it, or the lock's
    why: str  # what chose the version, for messages

    @property
    def wanted(self) -> str:
        return f"version {self.semver} from {self.why}" if self.semver else f"environment {self.environment} from {self.why}"


class Resolution(NamedTuple):
    prompts: dict[str, Prompt]  # arm alias ("" when pinned or without a split) -> verified prompt
    split: splits.Split | None


class _Outage(Exception):
    """The registry did not answer usefully in time: a fallback may serve."""


@dataclass
class _Entry:
    resolution: Resolution | None = None
    fetched_at: float = 0.0
    error: Exception | None = None  # an answer to raise (tampered text, no such version or alias)
    failure: str | None = None  # the registry failing while a stale resolution is served
    next_attempt: float = 0.0
    pinned: bool = False


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Resolution | Exception | None = None


CacheKey = tuple[str, Request, str | None]  # (registry uri, request, root)


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[CacheKey, _Entry] = {}
        self.flights: dict[CacheKey, _Flight] = {}
        self.readers: dict[str, RuntimeReader] = {}
        self.logged: set[tuple[str, str]] = set()
        self.mlflow_installed: bool | None = None


_state = _State()


def _after_fork_in_child() -> None:
    """A forked worker keeps the verified cache but none of the parent's locks or threads."""
    global _state
    old = _state
    _state = _State()
    _state.entries = {key: replace(entry) for key, entry in old.entries.items()}
    _state.logged = set(old.logged)
    _state.mlflow_installed = old.mlflow_installed
    trees.reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def reset() -> None:
    """Forget every cached prompt (tests; an application never needs it)."""
    global _state
    _state = _State()


def _seconds(variable: str, default: float) -> float:
    raw = os.environ.get(variable)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        _log_once("", f"bad-{variable}", f"{variable}={raw!r} is not a number of seconds; using {default}")
        return default
    return value if value >= 0 else default


def _log_once(name: str, cause: str, message: str) -> None:
    key = (name, cause)
    with _state.lock:
        if key in _state.logged:
            return
        _state.logged.add(key)
    logger.warning("%s", _mask(message))


def _registry_uri() -> str | None:
    return os.environ.get("MLFLOW_REGISTRY_URI") or os.environ.get("MLFLOW_TRACKING_URI") or None


def _mask(text: str) -> str:
    """``text`` without the credentials of either registry URI, the secret environment variables, or any URI's user info."""
    from prompthooks.secrets import Redactor

    uris = (os.environ.get("MLFLOW_REGISTRY_URI") or "", os.environ.get("MLFLOW_TRACKING_URI") or "")
    return Redactor([secret for uri in uris for secret in Redactor.for_tracking(uri).secrets])(text)


_MASKED_ATTRIBUTES: Final = ("why", "wanted", "where", "expected", "actual")


def _masked(error: BaseException) -> BaseException:
    """The error as ``load`` raises it: every text in it masked, and no chained exception that could hold a credential."""
    error.args = tuple(_mask(item) if isinstance(item, str) else item for item in error.args)
    for attribute in _MASKED_ATTRIBUTES:
        value = getattr(error, attribute, None)
        if isinstance(value, str):
            setattr(error, attribute, _mask(value))
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    # A cached answer is raised again on every call: without this its traceback would grow each time.
    return error.with_traceback(None)


def _require_git_hash() -> bool:
    return (os.environ.get(contract.REQUIRE_GIT_HASH_VARIABLE) or "").strip().lower() in ("1", "true", "yes", "on")


def _mlflow_installed() -> bool:
    if _state.mlflow_installed is None:
        try:
            _state.mlflow_installed = "mlflow" in sys.modules or importlib.util.find_spec("mlflow") is not None
        except (ImportError, ValueError):
            _state.mlflow_installed = False
    return _state.mlflow_installed


@functools.lru_cache(maxsize=1024)
def _variables(name: str) -> tuple[str, str]:
    return contract.version_variable(name), contract.hash_variable(name)


def _request(name: str, version: str | None, env: str | None, root: str | None) -> tuple[Request, trees.Tree | None]:
    """What is wanted; reads the deployed tree only when the lock must choose the version."""
    variable, hash_variable = _variables(name)
    pinned = os.environ.get(variable) or None
    if version is not None:
        # A pin constrains the version it names, no other: version="1.0.0" beside PROMPT_<NAME>_VERSION=1.0.1 owes it nothing.
        pin_hash = (os.environ.get(hash_variable) or None) if pinned == version else None
        return Request(name, version, None, pin_hash, "the version= argument"), None
    if pinned:
        return Request(name, pinned, None, os.environ.get(hash_variable) or None, variable), None
    environment = env or os.environ.get(contract.ENV_VARIABLE) or None
    if environment is not None:
        problem = contract.alias_problem(environment)
        if problem is not None:
            raise ValueError(problem)
        return Request(name, None, environment, None, "the env= argument" if env else contract.ENV_VARIABLE), None
    try:
        tree = trees.open_tree(root)
    except trees.TreeError as error:
        raise PromptUnavailableError(name, "the deployed version", f"no version, {variable} or environment given, and {error}") from None
    entry = tree.entries.get(name)
    if entry is None:
        raise PromptUnavailableError(name, "the deployed version", f"{tree.lock_path} has no prompt {name}")
    return Request(name, entry.version, None, entry.hash, tree.lock_path), tree


def load(
    name: str,
    *,
    version: str | None = None,
    env: str | None = None,
    key: str | None = None,
    root: str | None = None,
    deadline: float | None = None,
) -> Prompt:
    """The verified prompt ``name`` as deployed: see the module's docstring for the rules."""
    try:
        return _load(name, version, env, key, root, deadline)
    except Exception as error:  # leaves masked, without the chain or the frames (and their locals) that led here
        failure = error
    raise _masked(failure)


def _load(name: str, version: str | None, env: str | None, key: str | None, root: str | None, deadline: float | None) -> Prompt:
    request, tree = _request(name, version, env, root)
    uri = _registry_uri()
    if uri is None or not _mlflow_installed():
        prompt = _from_tree(request, root, tree)
    else:
        prompt = _from_registry(uri, request, key, root, deadline)
    if prompt.mlflow_version is not None and "mlflow" in sys.modules:
        _link(prompt)
    return prompt


# --- file mode -------------------------------------------------------------------------------


def _from_tree(request: Request, root: str | None, tree: trees.Tree | None) -> Prompt:
    key: CacheKey = ("", request, root)
    entry = _state.entries.get(key)
    if entry is not None and entry.resolution is not None:
        return entry.resolution.prompts[""]
    if request.semver is None:
        raise PromptUnavailableError(
            request.name,
            request.wanted,
            "an environment is resolved by the registry, and MLFLOW_TRACKING_URI is not set or mlflow is not installed; "
            f"pin the version with {contract.version_variable(request.name)} (prompthooks export) to serve the deployed file",
        )
    prompt = _tree_prompt(request, root, tree, request.semver, request.wanted_hash, source="lock", mlflow_version=None)
    with _state.lock:
        _state.entries[key] = _Entry(Resolution({"": prompt}, None), time.monotonic(), pinned=True)
    return prompt


def _tree_prompt(
    request: Request,
    root: str | None,
    tree: trees.Tree | None,
    semver: str | None,
    wanted_hash: str | None,
    *,
    source: Source,
    mlflow_version: int | None,
) -> Prompt:
    """The deployed file, if the lock says it is the wanted version (and hash); verified against the lock."""
    from prompthooks.runtime import shape

    name = request.name
    try:
        tree = tree or trees.open_tree(root)
    except trees.TreeError as error:
        raise PromptUnavailableError(name, request.wanted, str(error)) from None
    entry = tree.entries.get(name)
    if entry is None:
        raise PromptUnavailableError(name, request.wanted, f"{tree.lock_path} has no prompt {name}")
    if semver is not None and entry.version != semver:
        raise PromptUnavailableError(name, request.wanted, f"the deployed tree ({tree.lock_path}) has {name} {entry.version}, not {semver}")
    if wanted_hash is not None and entry.hash != wanted_hash:
        if semver is not None:  # one semver, two contents: never serve either silently
            raise PromptIntegrityError(name, entry.version, wanted_hash, entry.hash, f"the deployed tree's lock entry ({tree.lock_path})")
        raise PromptUnavailableError(name, request.wanted, f"the deployed tree has {name} {entry.version} ({entry.hash}), not {wanted_hash}")
    try:
        found = trees.content_of(tree, name, entry)
    except trees.TreeError as error:
        raise PromptUnavailableError(name, request.wanted, str(error)) from None
    return shape.build(
        name, entry.version, entry.hash, found.content, entry.path,
        source=source, mlflow_version=mlflow_version, variables=entry.variables, sources=found.sources, settings=tree.settings,
    )  # fmt: skip


# --- registry mode ---------------------------------------------------------------------------


def _choose(resolution: Resolution, name: str, key: str | None) -> Prompt:
    if resolution.split is None:
        return resolution.prompts[""]
    return resolution.prompts[splits.choose(resolution.split, name, key)]


def _from_registry(uri: str, request: Request, key: str | None, root: str | None, deadline: float | None) -> Prompt:
    cache_key: CacheKey = (uri, request, root)
    ttl = _seconds(contract.CACHE_TTL_VARIABLE, DEFAULT_TTL)
    now = time.monotonic()
    entry = _state.entries.get(cache_key)
    if entry is not None:
        fresh = entry.pinned or now - entry.fetched_at < ttl
        if entry.error is not None and fresh:
            raise entry.error
        if entry.resolution is not None:
            prompt = _choose(entry.resolution, request.name, key)
            if fresh:
                return prompt
            failure = entry.failure  # as it was before this call: a refresh started now answers the next calls
            if now >= entry.next_attempt:
                _start(uri, cache_key, root, _budget(deadline))  # refresh in the background; serve at once
            if failure is not None:
                return _stale(request, root, prompt, failure)
            return replace(prompt, source="cache")
        if entry.failure is not None and now < entry.next_attempt:
            return _fallback(request, root, entry.failure)  # failed a moment ago: do not make every call wait
    budget = _budget(deadline)
    try:
        flight = _start(uri, cache_key, root, budget)
    except Exception as error:  # mlflow cannot even be imported: as good as unreachable
        failure = f"cannot set up the registry client for {_shown(uri)}: {_mask(str(error))[:200]}"
        _log_once(request.name, "setup", f"prompt {request.name}: {failure}")
        _failing(cache_key, failure)
        return _fallback(request, root, failure)
    if not flight.done.wait(budget):
        failure = f"the registry {_shown(uri)} did not answer within the {budget:g} s deadline"
        _failing(cache_key, failure)  # the next calls within the back-off do not wait for it again
        return _fallback(request, root, failure)
    outcome = flight.outcome
    if isinstance(outcome, Resolution):
        return _choose(outcome, request.name, key)
    if isinstance(outcome, _Outage):
        return _fallback(request, root, str(outcome))
    assert isinstance(outcome, Exception)
    raise outcome


def _failing(cache_key: CacheKey, failure: str) -> None:
    """The registry failed this request: fall back at once until the back-off has passed (a fetch may still be in flight)."""
    with _state.lock:
        entry = _state.entries.setdefault(cache_key, _Entry())
        if entry.resolution is None and entry.error is None:
            entry.failure = failure
            entry.next_attempt = time.monotonic() + MAX_RETRY_DELAY


def _budget(deadline: float | None) -> float:
    return _seconds(contract.DEADLINE_VARIABLE, DEFAULT_DEADLINE) if deadline is None else deadline


def _shown(uri: str) -> str:
    from prompthooks.secrets import display_uri

    return display_uri(uri)


def _stale(request: Request, root: str | None, prompt: Prompt, failure: str) -> Prompt:
    """The registry fails and the TTL has passed: the deployed file if it is this very content, else the last good copy."""
    try:
        served = _tree_prompt(request, root, None, prompt.version, prompt.hash, source="lock", mlflow_version=prompt.mlflow_version)
    except (PromptUnavailableError, PromptIntegrityError) as error:
        _log_once(request.name, "stale:" + failure, f"prompt {request.name}: serving the cached {prompt.version} past its TTL ({failure}; {error})")
        return replace(prompt, source="cache")
    _log_once(request.name, "file:" + failure, f"prompt {request.name}: serving the deployed file of {prompt.version} ({failure})")
    return replace(served, variant=prompt.variant)


def _fallback(request: Request, root: str | None, why: str) -> Prompt:
    """Nothing cached and the registry failing: the deployed file, if its locked hash is the one wanted."""
    if request.semver is None:
        raise PromptUnavailableError(
            request.name,
            request.wanted,
            f"{why}; nothing cached, and without the registry the environment's version is unknown "
            f"(pin it with {contract.version_variable(request.name)} to fall back to the deployed file)",
        )
    try:
        prompt = _tree_prompt(request, root, None, request.semver, request.wanted_hash, source="lock", mlflow_version=None)
    except PromptUnavailableError as error:
        raise PromptUnavailableError(request.name, request.wanted, f"{why}; and {error.why}") from None
    _log_once(request.name, "fallback:" + why, f"prompt {request.name}: serving the deployed file of {prompt.version} ({why})")
    return prompt


def _reader(uri: str) -> RuntimeReader:
    reader = _state.readers.get(uri)
    if reader is None:
        from prompthooks.runtime.reader import RuntimeReader

        reader = RuntimeReader(uri)  # imports mlflow: once per process, before any deadline starts (its store: in the worker)
        with _state.lock:
            reader = _state.readers.setdefault(uri, reader)
    return reader


def _start(uri: str, cache_key: CacheKey, root: str | None, budget: float) -> _Flight:
    """The fetch in flight for this request, started if there is none: concurrent loads share it."""
    reader = _reader(uri)
    with _state.lock:
        flight = _state.flights.get(cache_key)
        if flight is not None:
            return flight
        flight = _state.flights[cache_key] = _Flight()
        entry = _state.entries.get(cache_key)
        if entry is not None:
            entry.next_attempt = time.monotonic() + MAX_RETRY_DELAY
    state = _state
    worker = threading.Thread(
        target=_fly, args=(state, reader, cache_key, root, budget, flight), name=f"prompthooks-load-{cache_key[1].name}", daemon=True
    )
    worker.start()
    return flight


def _fly(state: _State, reader: RuntimeReader, cache_key: CacheKey, root: str | None, budget: float, flight: _Flight) -> None:
    request = cache_key[1]
    outcome: Resolution | Exception
    try:
        outcome = _fetch(reader, request, root, time.monotonic() + budget)
    except (PromptIntegrityError, PromptUnavailableError) as error:
        outcome = error
    except _Outage as error:
        outcome = error
    except Exception as error:  # requests, MLflow, SQLAlchemy, sockets, making MLflow's store: the registry failed us
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        outcome = _Outage(f"the registry {reader.shown_uri} failed: {_mask(message)[:300]}")
    now = time.monotonic()
    with state.lock:
        entry = state.entries.setdefault(cache_key, _Entry())
        if isinstance(outcome, Resolution):
            state.entries[cache_key] = _Entry(outcome, now, pinned=request.semver is not None)
        elif isinstance(outcome, _Outage):
            entry.failure = str(outcome)
            entry.next_attempt = now + MAX_RETRY_DELAY
        else:
            state.entries[cache_key] = _Entry(None, now, error=outcome)
        flight.outcome = outcome
        state.flights.pop(cache_key, None)
    if isinstance(outcome, _Outage) and entry.resolution is not None:
        _log_once(request.name, "refresh:" + str(outcome), f"prompt {request.name}: refresh failed, serving the cached copy ({outcome})")
    flight.done.set()


def _remaining(deadline_at: float) -> float:
    left = deadline_at - time.monotonic()
    if left <= 0:
        raise _Outage("the deadline passed")
    return left


def _fetch(reader: RuntimeReader, request: Request, root: str | None, deadline_at: float) -> Resolution:
    from prompthooks.runtime.reader import RegistryNotFound

    name = request.name
    try:
        tree: trees.Tree | None = trees.open_tree(root)
    except trees.NoTree:
        tree = None  # no deployed tree: the registry alone answers, nothing to cross-check
    except trees.TreeError as error:  # a lock that is there but unreadable must not let the registry vouch for itself
        raise PromptUnavailableError(
            name, request.wanted,
            f"the deployed tree's lock cannot be read, so the registry's text cannot be verified against git: {error}; "
            "deploy an image whose lock is the one `prompthooks lock` committed",
        ) from None  # fmt: skip
    try:
        if request.semver is not None:
            found = reader.version_by_semver(name, request.semver, _remaining(deadline_at))
            if not found:
                raise PromptUnavailableError(name, request.wanted, f"the registry {reader.shown_uri} has no {name} with prompthooks_version {request.semver}")
            hashes = {version.tags.get(contract.TAG_HASH) for version in found}
            if len(hashes) > 1:
                first, second = sorted(str(item) for item in hashes)[:2]
                raise PromptIntegrityError(name, request.semver, first, second, f"the registry ({len(found)} MLflow versions tagged {request.semver})")
            chosen = min(found, key=lambda version: version.number)  # concurrent syncs keep the lowest
            return Resolution({"": _verified(chosen, request, tree, None)}, None)
        assert request.environment is not None
        environment = request.environment
        stored = reader.prompt(name, _remaining(deadline_at))
        split = _split_of(name, environment, stored.tags.get(contract.split_tag(environment)), stored.aliases)
        aliases = split.aliases if split is not None else (environment,)
        if environment not in stored.aliases:
            raise PromptUnavailableError(name, request.wanted, f"{name} has no alias {environment} in the registry {reader.shown_uri} (not deployed there)")
        versions: dict[int, StoredVersion] = {}
        prompts: dict[str, Prompt] = {}
        for alias in aliases:
            number = stored.aliases[alias]
            if number not in versions:
                versions[number] = reader.version(name, number, _remaining(deadline_at))
            prompts[alias if split is not None else ""] = _verified(versions[number], request, tree, alias if split is not None else None)
        return Resolution(prompts, split)
    except RegistryNotFound as error:
        raise PromptUnavailableError(name, request.wanted, f"not in the registry {reader.shown_uri}: {str(error)[:200]}") from None


def _split_of(name: str, environment: str, raw: str | None, aliases: dict[str, int]) -> splits.Split | None:
    if raw is None:
        return None
    try:
        split = splits.parse(environment, raw)
    except ValueError as error:
        _log_once(name, "split:" + raw, f"prompt {name}: ignoring the split, serving {environment} to every key: {error}")
        return None
    missing = [alias for alias in split.aliases if alias not in aliases]
    if missing:
        _log_once(name, "split:" + raw, f"prompt {name}: ignoring the split of {environment}: no alias {', '.join(missing)}")
        return None
    return split


def _anchor(stored: StoredVersion, request: Request, tree: trees.Tree | None) -> tuple[FromGit | None, LockEntry | None]:
    """What git says this registry version must hold, and the deployed tree's lock entry of it when there is one.

    The lock entry of that very version, else the pin naming it (``PROMPT_<NAME>_HASH``); with neither,
    None: the registry's own tags are the check, unless ``PROMPTHOOKS_REQUIRE_GIT_HASH`` refuses that.
    """
    from prompthooks.registry.stored import from_lock, from_pin

    name, semver = request.name, stored.semver
    hash_variable = _variables(name)[1]
    entry = tree.entries.get(name) if tree is not None else None
    locked = entry if entry is not None and entry.version == semver else None
    pinned = request.wanted_hash if request.semver is not None and request.semver == semver else None
    if locked is not None:
        assert tree is not None and semver is not None
        if pinned is not None and pinned != locked.hash:  # one semver, two contents: never serve either silently
            raise PromptIntegrityError(name, semver, pinned, locked.hash, f"the deployed tree's lock entry ({tree.lock_path})")
        flattened: str | None = None
        if locked.dependencies:
            try:
                flattened = trees.flattened_hash(tree, name, locked)
            except trees.TreeError as error:
                raise PromptUnavailableError(
                    name, request.wanted,
                    f"{name} {semver} includes other templates, so the registry holds a flattened copy whose hash is made "
                    f"from the deployed tree's files, and {error}; ship the prompt files with {tree.lock_path}",
                ) from None  # fmt: skip
        return from_lock(locked.hash, locked.dependencies, flattened), locked
    held = f" ({tree.lock_path} has {entry.version})" if entry is not None and tree is not None else ""
    if pinned is not None:
        if stored.composed:  # a pin carries the lock's hash, not the hash of the flattened copy the registry holds
            raise PromptUnavailableError(
                name, request.wanted,
                f"{name} {semver} includes other templates: the registry holds a flattened copy, which {hash_variable} cannot verify, "
                f"and the deployed tree has no lock entry of {name} {semver}{held} to make that copy from git; "
                f"deploy the image whose prompts.lock has {name} {semver} with this pin",
            )  # fmt: skip
        return from_pin(pinned), None
    if _require_git_hash():
        raise PromptUnavailableError(
            name, request.wanted,
            f"MLflow version {stored.number} ({semver}) has no hash from git to be verified against: the deployed tree has no lock entry "
            f"of {name} {semver}{held} and no {hash_variable} names {semver}; {contract.REQUIRE_GIT_HASH_VARIABLE} refuses to let "
            "the registry vouch for its own text",
        )  # fmt: skip
    return None, None


def _verified(stored: StoredVersion, request: Request, tree: trees.Tree | None, variant: str | None) -> Prompt:
    """The registry's version as a Prompt, if it holds what git says (``registry.stored.problem_of``, against ``_anchor``)."""
    from prompthooks.registry.stored import problem_of
    from prompthooks.runtime import shape

    name, tags = request.name, stored.tags
    git, locked = _anchor(stored, request, tree)
    problem = problem_of(stored, git)
    if problem is not None:
        raise PromptIntegrityError(name, stored.semver or f"(MLflow version {stored.number})", problem.expected, problem.actual, problem.where)
    content, semver, hash_ = stored.content, stored.semver, stored.hash
    assert content is not None and semver is not None and hash_ is not None  # intact
    # The lock entry's interface and path where the tree has this version; else the interface is read from the verified
    # content (never from the registry's prompthooks_variables), and the file's kind from its prompthooks_path (README).
    variables = locked.variables if locked is not None else None
    entry = tree.entries.get(name) if tree is not None else None
    path = locked.path if locked is not None else tags.get(contract.TAG_PATH) or (entry.path if entry is not None else name)
    prompt = shape.build(name, semver, hash_, content, path, source="registry", mlflow_version=stored.number, variables=variables)
    return replace(prompt, variant=variant) if variant is not None else prompt


@functools.cache
def _linker() -> Callable[[str, int, object], None]:
    from prompthooks.runtime.reader import link_to_active_trace

    return link_to_active_trace


def _link(prompt: Prompt) -> None:
    assert prompt.mlflow_version is not None
    template = prompt.template if isinstance(prompt.template, str) else [dict(message) for message in prompt.template]
    try:
        _linker()(prompt.name, prompt.mlflow_version, template)
    except Exception as error:  # lineage never fails a load
        _log_once(prompt.name, "lineage", f"prompt {prompt.name}: could not link version {prompt.mlflow_version} to the active trace: {error}")

