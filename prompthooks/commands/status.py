"""``prompthooks status``: what each environment serves beside HEAD's lock, and whether it drifted."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from prompthooks import config, contract, deployplan, deployrecord, git, lockfile
from prompthooks.deployrecord import Deployment
from prompthooks.errors import FatalError
from prompthooks.registry.stored import integrity_problem
from prompthooks.services import rollout
from prompthooks.services.connection import Session, check_alias, connect
from prompthooks.services.deployments import recent, records

if TYPE_CHECKING:
    from prompthooks.registry.stored import PromptState, StoredVersion


class Row(NamedTuple):
    name: str
    mlflow_version: int | None  # what the alias points at now
    version: str | None  # its prompthooks_version
    locked: str | None  # the version locked at HEAD
    recorded: int | None  # what the latest deployment record says
    split: dict[str, int]
    drift: list[str]


def _locked(root: str) -> dict[str, str]:
    """The versions locked at HEAD, when this is a checkout with a lock (status works without one)."""
    raw = git.blob_at_revision(root, "HEAD", config.load(root).lock)
    if raw is None:
        return {}
    try:
        return {name: entry.version for name, entry in lockfile.parse(raw, "HEAD:prompts.lock").items()}
    except FatalError:
        return {}


def _rows(
    environment: str,
    names: Sequence[str],
    states: Mapping[str, PromptState],
    versions: Mapping[str, Sequence[StoredVersion]],
    locked: Mapping[str, str],
    latest: Deployment | None,
    known: set[tuple[str, int]] | None,
    history: Sequence[Deployment] = (),
) -> list[Row]:
    rows = []
    key = contract.split_tag(environment)
    for name in names:
        number = deployplan.current(states, name, environment)
        recorded = latest.prompts[name].number if latest is not None and name in latest.prompts else None
        found = next((version for version in versions.get(name, ()) if version.number == number), None)
        drift = []
        if number != recorded:
            if number is None:
                drift.append(f"alias removed outside prompthooks (deployment {latest.id if latest else '?'} set MLflow version {recorded})")
            elif recorded is None:
                drift.append(f"alias set outside a deployment, on MLflow version {number}")
            else:
                drift.append(f"alias moved outside prompthooks: MLflow version {number}, deployment {latest.id if latest else '?'} set {recorded}")
            if number is not None and known is not None and (name, number) not in known:
                drift.append(f"MLflow version {number} is in no deployment record of {environment}")
        if number is not None and found is None:
            drift.append(f"MLflow version {number} has no prompthooks_hash: not registered by prompthooks")
        elif found is not None:
            problem = integrity_problem(found)
            if problem is not None:
                drift.append(problem)
        state = states.get(name)
        split = deployplan.parse_split(state.tags.get(key)) if state is not None else {}
        for alias in split:
            if alias == environment:
                continue
            arm = deployplan.current(states, name, alias)
            if arm is None:
                drift.append(f"split {state.tags.get(key) if state else ''} names {alias}, which points at no version")
            else:
                drift += _arm_drift(environment, name, alias, arm, versions, history)
        rows.append(Row(name, number, found.semver if found is not None else None, locked.get(name), recorded, split, drift))
    return rows


def _arm_drift(environment: str, name: str, alias: str, arm: int, versions: Mapping[str, Sequence[StoredVersion]], history: Sequence[Deployment]) -> list[str]:
    """What is wrong with an A/B arm: another environment's alias, an alias no record set (a split, or a rollback that
    restored one: the newest READY record naming this variant), a version not intact."""
    if not rollout.is_own_variant(alias, environment, history):
        return [f"the split serves {alias}, which is not a variant of {environment} (another environment's alias?)"]
    drift = []
    split = next((record for record in history if record.variant == alias and record.variants and record.status == deployrecord.READY), None)
    deployed = split.variants.get(name) if split is not None else None
    if deployed is None or deployed.number != arm:
        said = f"deployment {split.id} set MLflow version {deployed.number}" if split is not None and deployed is not None else "no split record set it"
        drift.append(f"variant {alias} moved outside prompthooks: MLflow version {arm}, {said}")
    found = next((version for version in versions.get(name, ()) if version.number == arm), None)
    problem = "it has no prompthooks_hash: not registered by prompthooks" if found is None else integrity_problem(found)
    if problem is not None:
        drift.append(f"variant {alias}: {problem}")
    return drift


def _environments(session: Session, states: Mapping[str, PromptState]) -> list[str]:
    """Every alias on these prompts that has a deployment record (variant aliases are part of their environment)."""
    aliases = sorted({alias for state in states.values() for alias in state.aliases})
    return [alias for alias in aliases if records(session, alias, 1)]


def status(root: str, environments: Sequence[str], tracking_uri: str | None, timeout: float, as_json: bool) -> int:
    for environment in environments:
        check_alias(environment)
    locked = _locked(root)
    session = connect(root, tracking_uri, timeout)
    histories = {environment: recent(session, environment) for environment in environments}
    names = set(locked) | {name for _, newest in histories.values() for record in newest for name in record.prompts}
    states = session.registry.prompt_states(names)
    if not environments:
        environments = _environments(session, states)
        histories = {environment: recent(session, environment) for environment in environments}
        extra = {name for _, newest in histories.values() for record in newest for name in record.prompts} - names
        if extra:
            names |= extra
            states = session.registry.prompt_states(names)
    versions = session.registry.list_versions(names)
    report: dict[str, tuple[Deployment | None, list[Row]]] = {}
    interrupted = {environment: [record for record in newest if record.status != deployrecord.READY] for environment, (_, newest) in histories.items()}
    for environment in environments:
        latest, _ = histories[environment]
        splitting = any(contract.split_tag(environment) in state.tags for state in states.values())
        history = records(session, environment) if splitting else []  # which split set each arm
        rows = _rows(environment, sorted(names), states, versions, locked, latest, None, history)
        if any(row.drift for row in rows) and latest is not None:
            history = history or records(session, environment)
            known = {(name, served.number) for record in history for name, served in record.prompts.items()}
            rows = _rows(environment, sorted(names), states, versions, locked, latest, known, history)
        report[environment] = (latest, [row for row in rows if row.mlflow_version is not None or row.recorded is not None or row.drift])
    drifted = any(row.drift for _, rows in report.values() for row in rows)
    if as_json:
        document = {
            "tracking_uri": session.shown_uri,
            "drift": drifted,
            "environments": {
                environment: {
                    "deployment": None if latest is None else latest.id,
                    "commit": None if latest is None else latest.commit,
                    "interrupted": [record.id for record in interrupted.get(environment, [])],
                    "prompts": [row._asdict() for row in rows],
                }
                for environment, (latest, rows) in report.items()
            },
        }
        print(json.dumps(document, indent=2))
    else:
        if not report:
            print(f"no environment with a deployment record in experiment {session.experiment!r} ({session.shown_uri})")
        for environment, (latest, rows) in report.items():
            since = f"deployment {latest.id}, {latest.reason} of {latest.commit[:12]} at {latest.deployed_at}" if latest else "no deployment record"
            print(f"{environment} ({since}):")
            for record in interrupted.get(environment, []):
                repair = f"`prompthooks rollback {environment}` returns it to {latest.id}" if latest else "redeploy a ref"
                print(f"  note: deployment {record.id} ({record.reason}) ended {record.status} after it; where drift shows, {repair}")
            for row in rows:
                served = f"{row.version or '?'} (MLflow version {row.mlflow_version})" if row.mlflow_version is not None else "nothing"
                behind = "" if row.locked in (None, row.version) else f", HEAD locks {row.locked}"
                split = f", split {json.dumps(row.split)}" if row.split else ""
                print(f"  {row.name}: {served}{behind}{split}")
                for problem in row.drift:
                    print(f"    drift: {problem}")
        print(f"prompthooks status: {'drift found' if drifted else 'no drift'} ({session.shown_uri})")
    return 1 if drifted else 0
