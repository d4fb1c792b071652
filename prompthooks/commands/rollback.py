"""``prompthooks rollback``: return an environment to an earlier deployment's versions (or a ref's), recorded as a deployment."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from prompthooks import contract, deployplan, deployrecord
from prompthooks.deployrecord import Deployment
from prompthooks.errors import FatalError
from prompthooks.registry.stored import integrity_problem
from prompthooks.services import rollout
from prompthooks.services.connection import EXIT_USAGE, Session, check_deployable, connect
from prompthooks.services.deployments import recent, records
from prompthooks.services.rollout import Built, RolloutPlan, TagChange


class RollbackOptions(NamedTuple):
    environment: str
    tracking_uri: str | None
    to: str | None = None
    ref: str | None = None
    prompts: tuple[str, ...] = ()
    dry_run: bool = False
    json: bool = False
    timeout: float = 600.0
    jobs: int = 4


def rollback(root: str, options: RollbackOptions) -> int:
    environment = options.environment
    check_deployable(environment)
    if options.to is not None and options.ref is not None:
        raise FatalError("choose --to DEPLOYMENT or --ref REF, not both", exit_code=EXIT_USAGE)
    session = connect(root, options.tracking_uri, options.timeout)
    if options.ref is not None:
        ref = options.ref

        def by_ref() -> Built:
            plan, known, extra = rollout.deploy_plan(session, root, ref, environment, options.jobs, options.dry_run, deployrecord.ROLLBACK)
            plan = _ending_the_split(session, plan, environment, options.prompts)  # a rollback returns to REF's state: no split
            if not options.prompts:
                return plan, known, extra
            latest, _ = recent(session, environment)
            serving = dict(latest.prompts) if latest is not None else {}
            for name in options.prompts:  # the record says what the whole environment serves afterwards
                if name in plan.deployment.prompts:
                    serving[name] = plan.deployment.prompts[name]
                else:
                    serving.pop(name, None)
            plan = plan._replace(deployment=plan.deployment._replace(prompts=dict(sorted(serving.items()))))
            return _only(plan, options.prompts, environment), known, extra

        return rollout.run(session, by_ref, options.dry_run, options.json, options.jobs, environment)
    return rollout.run(session, lambda: _rollback_plan(session, options), options.dry_run, options.json, options.jobs, environment)


def _ending_the_split(session: Session, plan: RolloutPlan, environment: str, names: Sequence[str]) -> RolloutPlan:
    """``plan`` plus the end of ``environment``'s split (of the named prompts only, when some are named)."""
    key = contract.split_tag(environment)
    _, newest = recent(session, environment)
    tagged = session.registry.prompts_tagged(key)
    states = {**session.registry.prompt_states({name for name, _ in plan.wanted}), **tagged}
    wanted, tags = dict(plan.wanted), list(plan.tags)
    for name, state in sorted(states.items()):
        if names and name not in names:
            continue
        weights = deployplan.parse_split(state.tags.get(key))
        for alias in sorted({*weights, *state.aliases} - {environment}):
            if rollout.is_own_variant(alias, environment, newest):
                wanted[(name, alias)] = None
        if key in state.tags:
            tags.append(TagChange(name, key, None))
    moves = deployplan.moves(wanted, states)
    deployment = plan.deployment._replace(moved=tuple(moves), variant=None, weight=None, variants={})
    return plan._replace(wanted=wanted, moves=moves, tags=tags, deployment=deployment)


def _only(plan: RolloutPlan, names: Sequence[str], environment: str) -> RolloutPlan:
    """Restrict a plan to the named prompts; the record still says what the whole environment serves."""
    if not names:
        return plan
    known = {name for name, _ in plan.wanted}
    unknown = sorted(set(names) - known)
    if unknown:
        raise FatalError(f"not deployed to {environment} nor in the target: {', '.join(unknown)}", exit_code=EXIT_USAGE)
    wanted = {key: number for key, number in plan.wanted.items() if key[0] in names}
    moves = [step for step in plan.moves if step.name in names]
    return plan._replace(wanted=wanted, moves=moves, deployment=plan.deployment._replace(moved=tuple(moves)))


def _matches(record: Deployment, wanted: str) -> bool:
    return record.id == wanted or record.id.startswith(wanted) or record.id.removeprefix("m-").startswith(wanted)


def _find(found: Sequence[Deployment], wanted: str, environment: str) -> Deployment:
    matches = [record for record in found if _matches(record, wanted)]
    if len(matches) != 1:
        problem = "no" if not matches else "more than one"
        raise FatalError(f"{problem} deployment of {environment} matches {wanted!r}; `prompthooks deployments {environment}` lists them", exit_code=EXIT_USAGE)
    return matches[0]


def _by_id(history: Sequence[Deployment], session: Session, record_id: str) -> Deployment | None:
    found = next((record for record in history if record.id == record_id), None)
    if found is not None:
        return found
    stored = session.registry.get_record(record_id)
    return None if stored is None else deployrecord.from_stored(stored)


def _earlier_states(session: Session, history: Sequence[Deployment], latest: Deployment) -> Iterator[Deployment]:
    """The states before the one ``latest`` put the environment in, newest first.

    A rollback that restored its target whole is in its target's state, so rolling back again goes
    further back (like undo), never forth again to the state that rollback left.
    """
    position, seen = latest, {latest.id}
    while position.reason == deployrecord.ROLLBACK and position.rolled_back_to and position.rolled_back_to not in seen:
        seen.add(position.rolled_back_to)
        found = _by_id(history, session, position.rolled_back_to)
        if found is None or (found.prompts, dict(found.variants)) != (position.prompts, dict(position.variants)):
            break  # a rollback of some prompts only: its state is its own
        position = found
    while position.previous is not None and position.previous not in seen:
        seen.add(position.previous)
        earlier = _by_id(history, session, position.previous)
        if earlier is None:
            raise FatalError(f"deployment {position.previous} (before {position.id}) is gone from the registry; use --to or --ref")
        yield earlier
        position = earlier


def _rollback_plan(session: Session, options: RollbackOptions) -> Built:
    """Back to the last READY state when a run was interrupted after it, else to the state before the current one.

    An earlier state that serves what the environment serves now is passed over: a rollback
    that changes nothing while an earlier, different state exists would be a silent no-op.
    """
    environment = options.environment
    latest, newest = recent(session, environment)  # the latest READY record, and every one newer (one request, mostly)
    history = newest
    if options.to is not None:
        history = records(session, environment)  # a prefix must be unique among all of them, not only the recent ones
        candidates: Iterable[Deployment] = [_find(history, options.to, environment)]
    elif latest is None:
        raise FatalError(f"no deployment of {environment} is recorded in experiment {session.experiment!r}: nothing to roll back")
    elif newest[0] is not latest:  # interrupted or overwritten after the last good state: repair
        candidates = [latest]
    else:
        candidates = _earlier_states(session, history, latest)
    last: Built | None = None
    for target in candidates:
        last = _restore(session, options, target, latest, newest)
        plan = last[0]
        if plan.moves or plan.tags or options.to is not None or newest[0] is not latest:
            return last
    if last is None:
        assert latest is not None
        raise FatalError(f"deployment {latest.id} is the first of {environment}: nothing before it to roll back to")
    return last


def _restore(session: Session, options: RollbackOptions, target: Deployment, latest: Deployment | None, newest: list[Deployment]) -> Built:
    """The plan that returns the environment to ``target``'s state: its main arm, and its split (or none)."""
    environment = options.environment
    serving = dict(latest.prompts) if latest is not None else {}
    ever = {name for record in newest for name in (*record.prompts, *record.variants)}
    names = set(options.prompts) if options.prompts else set(target.prompts) | set(target.variants) | ever
    unknown = sorted(name for name in names if name not in target.prompts and name not in serving and name not in ever)
    if unknown:
        raise FatalError(f"not deployed to {environment} in {target.id} nor now: {', '.join(unknown)}", exit_code=EXIT_USAGE)
    _check_intact(session, target, names, options.jobs)
    states = session.registry.prompt_states(names, options.jobs)
    key = contract.split_tag(environment)
    wanted: dict[tuple[str, str], int | None] = {}
    tags: list[TagChange] = []
    for name in sorted(names):
        wanted[(name, environment)] = target.prompts[name].number if name in target.prompts else None
        state = states.get(name)
        weights = deployplan.parse_split(state.tags.get(key)) if state is not None else {}
        present = {alias for alias in (state.aliases if state is not None else {}) if contract.is_variant_of(alias, environment)}
        for alias in sorted(alias for alias in present | (set(weights) - {environment}) if rollout.is_own_variant(alias, environment, newest)):
            wanted[(name, alias)] = None
        split: str | None = None
        if target.variant is not None and name in target.variants and target.weight is not None:
            wanted[(name, target.variant)] = target.variants[name].number
            split = deployplan.split_json(deployplan.with_variant({}, environment, target.variant, target.weight))
        current = state.tags.get(key) if state is not None else None
        if current != split:
            tags.append(TagChange(name, key, split))
    moves = deployplan.moves(wanted, states)
    for name in names:
        if name in target.prompts:
            serving[name] = target.prompts[name]
        else:
            serving.pop(name, None)
    variants = {name: served for name, served in target.variants.items() if name in names}
    deployment = Deployment(
        id="", status="PENDING", environment=environment, commit=target.commit, ref=target.ref, deployed_at=deployrecord.now(),
        reason=deployrecord.ROLLBACK, ci_url=deployrecord.ci_url(), previous=None if latest is None else latest.id,
        prompts=dict(sorted(serving.items())), moved=tuple(moves), rolled_back_to=target.id,
        variant=target.variant if variants else None, weight=target.weight if variants else None, variants=variants,
        variant_commit=target.variant_commit if variants else None,
    )
    known = rollout.known_versions([target.prompts, target.variants, *(record.prompts for record in newest), *(record.variants for record in newest)])
    notes = [f"rolling {environment} back to deployment {target.id} ({target.reason} of {target.commit[:12]} at {target.deployed_at})"]
    stale = bool(newest) and newest[0] is not latest
    last_good = None if latest is None else latest.id
    return RolloutPlan(wanted, moves, tags, deployment, notes, stale, last_good), known, {"rolled_back_to": target.id}


def _check_intact(session: Session, target: Deployment, names: set[str], jobs: int) -> None:
    """Refuse to serve again a version that is gone from the registry or was modified there."""
    served = [(name, item) for mapping in (target.prompts, target.variants) for name, item in mapping.items() if name in names]
    versions = session.registry.list_versions({name for name, _ in served}, jobs)
    for name, item in served:
        found = next((version for version in versions.get(name, []) if version.number == item.number), None)
        if found is None:
            raise FatalError(f"{name} MLflow version {item.number} ({item.semver}), served by {target.id}, is gone from the registry; use --ref to redeploy it")
        problem = integrity_problem(found)
        if problem is not None:
            raise FatalError(f"{name}: {problem} since {target.id} deployed it; refusing to serve it")
