"""``prompthooks deploy``: point an environment's aliases at the versions locked at a ref, or split, promote, end a split.

The order every run follows (record, move, re-read, finalize) is ``services.rollout``'s.
"""

from __future__ import annotations

from typing import NamedTuple

from prompthooks import contract, deployplan, deployrecord
from prompthooks.deployrecord import Deployment, Served
from prompthooks.errors import FatalError
from prompthooks.registry.stored import integrity_problem
from prompthooks.services import rollout
from prompthooks.services.connection import EXIT_USAGE, Session, check_deployable, connect
from prompthooks.services.deployments import RECENT, recent, records
from prompthooks.services.rollout import Built, RolloutPlan, TagChange


class Options(NamedTuple):
    environment: str
    tracking_uri: str | None
    ref: str = "HEAD"
    dry_run: bool = False
    json: bool = False
    timeout: float = 600.0
    jobs: int = 4
    variant: str | None = None
    weight: int | None = None
    promote: str | None = None
    end_split: bool = False


def deploy(root: str, options: Options) -> int:
    environment = options.environment
    check_deployable(environment, options.variant or options.promote)
    if options.variant is not None:
        if options.weight is None or not 1 <= options.weight <= 99:
            raise FatalError("--variant needs --weight between 1 and 99 (the variant's share of traffic, in percent)", exit_code=EXIT_USAGE)
    session = connect(root, options.tracking_uri, options.timeout)
    if options.promote is not None or options.end_split:
        build = lambda: _end_split_plan(session, environment, options.promote)  # noqa: E731
    elif options.variant is not None:
        assert options.weight is not None
        variant, weight = options.variant, options.weight
        build = lambda: _split_plan(session, root, options, variant, weight)  # noqa: E731
    else:
        build = lambda: rollout.deploy_plan(session, root, options.ref, environment, options.jobs, options.dry_run, deployrecord.DEPLOY)  # noqa: E731
    return rollout.run(session, build, options.dry_run, options.json, options.jobs, environment)


def _settled(session: Session, environment: str) -> tuple[Deployment | None, list[Deployment]]:
    """The latest READY record and every newer one, when no run was interrupted after it.

    A split, promote or end-split moves some aliases and records what the main arm serves as the
    last record says; after an interrupted run that is not what the aliases serve, so it refuses
    (exit 1) until a deploy or rollback, which set every alias, repairs the environment.
    """
    latest, newest = recent(session, environment)
    if newest and newest[0] is not latest:
        interrupted = newest[0]
        repair = f"`prompthooks rollback {environment}` (back to {latest.id})" if latest is not None else f"`prompthooks deploy {environment}`"
        raise FatalError(
            f"deployment {interrupted.id} of {environment} ended {interrupted.status}, so {environment} may be partly moved; "
            f"repair it first with {repair} or a deploy, then split again"
        )
    return latest, newest


def _split_deployed(session: Session, environment: str, alias: str) -> dict[str, Served]:
    """What the newest record that set variant ``alias`` of ``environment`` (a split, or a rollback restoring one) put there.

    Its record, never the alias as it is now: a variant alias moved by hand is not promoted.
    """
    for found in (records(session, environment, RECENT), records(session, environment)):
        split = next((record for record in found if record.variant == alias and record.variants and record.status == deployrecord.READY), None)
        if split is not None:
            return dict(split.variants)
    return {}


def _split_plan(session: Session, root: str, options: Options, variant: str, weight: int) -> Built:
    environment = options.environment
    alias = contract.variant_alias(environment, variant)
    key = contract.split_tag(environment)
    commit, targets, notes = rollout.register_targets(session, root, options.ref, options.jobs, options.dry_run)
    latest, newest = _settled(session, environment)
    states = session.registry.prompt_states(targets, options.jobs)
    wanted: dict[tuple[str, str], int | None] = {}
    tags: list[TagChange] = []
    variants: dict[str, Served] = {}
    for name, served in sorted(targets.items()):
        main = deployplan.current(states, name, environment)
        weights = deployplan.parse_split(states[name].tags.get(key)) if name in states else {}
        if main is None:
            notes.append(f"{name}: not deployed to {environment}; no split (deploy {environment} first)")
        elif main == served.number:
            if alias in weights or deployplan.current(states, name, alias) is not None:
                remaining = deployplan.without_variant(weights, environment, alias)
                tags.append(TagChange(name, key, None if remaining is None else deployplan.split_json(remaining)))
                wanted[(name, alias)] = None
        else:
            wanted[(name, alias)] = served.number
            variants[name] = served
            split = deployplan.with_variant(weights, environment, alias, weight)
            if weights != split:
                tags.append(TagChange(name, key, deployplan.split_json(split)))
    moves = deployplan.moves(wanted, states)
    serving = dict(latest.prompts) if latest is not None else {}
    deployment = Deployment(
        id="", status="PENDING", environment=environment, commit=latest.commit if latest is not None else commit,
        ref=latest.ref if latest is not None else rollout.ref_name(root, options.ref), deployed_at=deployrecord.now(), reason=deployrecord.SPLIT, ci_url=deployrecord.ci_url(), previous=None if latest is None else latest.id,
        prompts=serving, moved=tuple(moves), variant=alias, weight=weight, variants=variants, variant_commit=commit,
    )
    known = rollout.known_versions([targets, *(record.prompts for record in newest)])
    last_good = None if latest is None else latest.id
    return RolloutPlan(wanted, moves, tags, deployment, notes, last_good=last_good), known, {"variant": alias, "weight": weight}


def _end_split_plan(session: Session, environment: str, promote: str | None) -> Built:
    key = contract.split_tag(environment)
    latest, newest = _settled(session, environment)
    states = session.registry.prompts_tagged(key)
    promoted = None if promote is None else contract.variant_alias(environment, promote)
    wanted: dict[tuple[str, str], int | None] = {}
    tags: list[TagChange] = []
    serving = dict(latest.prompts) if latest is not None else {}
    notes: list[str] = []
    numbers: dict[str, int] = {}
    deployed = _split_deployed(session, environment, promoted) if promoted is not None else {}
    for name, state in sorted(states.items()):
        weights = deployplan.parse_split(state.tags.get(key))
        if promoted is not None:
            if promoted not in state.aliases:
                continue
            if name not in deployed or deployed[name].number != state.aliases[promoted]:
                said = f"MLflow version {deployed[name].number}" if name in deployed else "nothing"
                raise FatalError(
                    f"{name}@{promoted} points at MLflow version {state.aliases[promoted]}, but the split of {environment} deployed {said} there "
                    f"(moved outside prompthooks): nothing promoted; see `prompthooks status {environment}`"
                )
            numbers[name] = deployed[name].number
            wanted[(name, environment)] = deployed[name].number
            wanted[(name, promoted)] = None
            remaining = deployplan.without_variant(weights, environment, promoted)
            tags.append(TagChange(name, key, None if remaining is None else deployplan.split_json(remaining)))
        else:
            tags.append(TagChange(name, key, None))
            # This environment's variants only (ENV--*, and those its own records created): never another environment's
            # alias, whatever a split tag names.
            for alias in sorted(alias for alias in {*weights, *state.aliases} - {environment} if rollout.is_own_variant(alias, environment, newest)):
                wanted[(name, alias)] = None
    if promoted is not None and not numbers:
        raise FatalError(f"no prompt carries {promoted} in a split of {environment}: nothing to promote")
    if numbers:
        versions = session.registry.list_versions(numbers)
        for name, number in numbers.items():
            found = next((version for version in versions.get(name, []) if version.number == number), None)
            problem = "it is gone from the registry" if found is None else integrity_problem(found)
            if problem is not None:
                raise FatalError(f"{name}: {problem}; nothing promoted (the main arm never serves a version that is not intact)")
            serving[name] = deployed[name]
    moves = deployplan.moves(wanted, states)
    reason = deployrecord.END_SPLIT if promoted is None else deployrecord.PROMOTE
    commit, ref = (latest.commit, latest.ref) if latest is not None else ("", "")
    if promoted is not None:  # the main arm now serves the candidate's versions: its commit
        split = next((record for record in newest if record.reason == deployrecord.SPLIT and record.variant == promoted), None)
        if split is not None and split.variant_commit:
            commit = split.variant_commit
    deployment = Deployment(
        id="", status="PENDING", environment=environment, commit=commit, ref=ref, deployed_at=deployrecord.now(),
        reason=reason, ci_url=deployrecord.ci_url(), previous=None if latest is None else latest.id,
        prompts=serving, moved=tuple(moves), variant=promoted,
    )
    if not tags and not moves:
        notes.append(f"no A/B split active on {environment}")
    known = rollout.known_versions([serving, *(record.prompts for record in newest), *(record.variants for record in newest)])
    return RolloutPlan(wanted, moves, tags, deployment, notes, last_good=None if latest is None else latest.id), known, {}
