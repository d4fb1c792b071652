"""``prompthooks export``: the versions to pin in a deployment, from git (a ref) or from an environment's aliases."""

from __future__ import annotations

import sys

from prompthooks import contract, manifest, snapshot
from prompthooks.errors import FatalError
from prompthooks.fileio import write_if_changed
from prompthooks.manifest import Pinned
from prompthooks.registry.stored import integrity_problem
from prompthooks.services.connection import check_alias, connect
from prompthooks.services.deployments import recent


def _from_ref(root: str, ref: str) -> tuple[list[Pinned], str, str]:
    committed = snapshot.read(root, ref)  # git only: no mlflow import
    return [Pinned(prompt.name, prompt.entry.version, prompt.entry.hash) for prompt in committed.prompts], committed.commit, f"ref {ref}"


def _from_environment(root: str, environment: str, tracking_uri: str | None, timeout: float) -> tuple[list[Pinned], str, str]:
    check_alias(environment)
    session = connect(root, tracking_uri, timeout)
    latest, _ = recent(session, environment)
    if latest is None:
        raise FatalError(f"no deployment of {environment} is recorded in experiment {session.experiment!r}; run `prompthooks deploy {environment}` first")
    states = session.registry.prompt_states(latest.prompts)
    versions = session.registry.list_versions(latest.prompts)
    pins = []
    for name, served in sorted(latest.prompts.items()):
        number = states[name].aliases.get(environment) if name in states else None
        if number != served.number:
            raise FatalError(f"{name}@{environment} is on MLflow version {number}, not {served.number} as deployment {latest.id} set it; see `prompthooks status {environment}`")
        found = next((version for version in versions.get(name, ()) if version.number == number), None)
        problem = "it is gone from the registry" if found is None else integrity_problem(found)
        if problem is not None or found is None or found.semver is None or found.hash is None:
            raise FatalError(f"{name}@{environment}: {problem}; see `prompthooks status {environment}`")
        pins.append(Pinned(name, found.semver, found.hash, number))
    split = sorted(name for name, state in states.items() if contract.split_tag(environment) in state.tags)
    if split:  # a pin wins over env= in load(): pods given these pins serve the main arm only
        print(
            f"prompthooks: note: {environment} has an A/B split on {', '.join(split)}: this export pins the main arm, "
            "so an application given it serves no variant; end or promote the split first, or load by environment",
            file=sys.stderr,
        )
    return pins, latest.commit, f"environment {environment} (deployment {latest.id})"


def export(
    root: str, *, ref: str | None, environment: str | None, output: str, prompt: str | None, name: str, path: str | None, tracking_uri: str | None, timeout: float
) -> int:
    if environment is not None:
        pins, git_sha, source = _from_environment(root, environment, tracking_uri, timeout)
    else:
        pins, git_sha, source = _from_ref(root, ref or "HEAD")
    if prompt is not None:
        pins = [pin for pin in pins if pin.name == prompt]
        if not pins:
            raise FatalError(f"no prompt named {prompt!r} in {source}")
    text = manifest.render(output, pins, git_sha, source, prompt is not None, name)
    if path is None:
        sys.stdout.write(text)
    elif write_if_changed(path, text.encode()):
        print(f"prompthooks export: wrote {path}", file=sys.stderr)
    return 0
