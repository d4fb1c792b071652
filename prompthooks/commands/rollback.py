"""``prompthooks rollback``: return an environment to an earlier deployment's versions (or a ref's), recorded as a deployment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from prompthooks import deployplan, deployrecord
from prompthooks.deployrecord import Deployment
from prompthooks.errors import FatalError
from prompthooks.registry.stored import integrity_problem
from prompthooks.services import rollout
from prompthooks.services.connection import EXIT_USAGE, Session, check_alias, connect
from prompthooks.services.deployments import recent, records
from prompthooks.services.rollout import Built, RolloutPlan


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
    check_alias(environment)
    if options.to is not None and options.ref is not None:
        raise FatalError("choose --to DEPLOYMENT or --ref REF, not both", exit_code=EXIT_USAGE)
    session = connect(root, options.tracking_uri, options.timeout)
    if options.ref is not None:
        ref = options.ref

        def by_ref() -> Built:
            plan, known, extra = rollout.deploy_plan(session, root, ref, environment, options.jobs, options.dry_run, deployrecord.ROLLBACK)
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

        return rollout.run(session, by_ref, options.dry_run, options.json, options.jobs)
    return rollout.run(session, lambda: _rollback_plan(session, options), options.dry_run, options.json, options.jobs)


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
    return plan._replace(wanted=wanted, moves=moves, deployment=plan.deployment._replace(moved={step.name: (step.before, step.after) for step in moves}))


def _find(found: Sequence[Deployment], wanted: str, environment: str) -> Deployment:
    matches = [record for record in found if record.id == wanted or record.id.startswith(wanted) or record.id.removeprefix("m-").startswith(wanted)]
    if len(matches) != 1:
        problem = "no" if not matches else "more than one"
        raise FatalError(f"{problem} deployment of {environment} matches {wanted!r}; `prompthooks deployments {environment}` lists them", exit_code=EXIT_USAGE)
    return matches[0]


def _rollback_plan(session: Session, options: RollbackOptions) -> Built:
    environment = options.environment
    if options.to is not None:
        history = records(session, environment)
        latest = next((record for record in history if record.status == deployrecord.READY), None)
        target = _find(history, options.to, environment)
        newest = history[: history.index(latest) + 1] if latest is not None else history
    else:
        latest, newest = recent(session, environment)
        if latest is None:
            raise FatalError(f"no deployment of {environment} is recorded in experiment {session.experiment!r}: nothing to roll back")
        if latest.previous is None:
            raise FatalError(f"deployment {latest.id} is the first of {environment}: nothing before it to roll back to")
        stored = session.registry.get_record(latest.previous)
        if stored is None:
            raise FatalError(f"deployment {latest.previous} (before {latest.id}) is gone from the registry; use --to or --ref")
        target = deployrecord.from_stored(stored)
    serving = dict(latest.prompts) if latest is not None else {}
    names = set(options.prompts) if options.prompts else set(target.prompts) | {name for record in newest for name in record.prompts}
    unknown = sorted(name for name in names if name not in target.prompts and name not in serving and name not in {n for r in newest for n in r.prompts})
    if unknown:
        raise FatalError(f"not deployed to {environment} in {target.id} nor now: {', '.join(unknown)}", exit_code=EXIT_USAGE)
    versions = session.registry.list_versions((name for name in names if name in target.prompts), options.jobs)
    for name in sorted(names):
        if name not in target.prompts:
            continue
        served = target.prompts[name]
        found = next((version for version in versions.get(name, []) if version.number == served.number), None)
        if found is None:
            raise FatalError(f"{name} MLflow version {served.number} ({served.semver}), served by {target.id}, is gone from the registry; use --ref to redeploy it")
        problem = integrity_problem(found)
        if problem is not None:
            raise FatalError(f"{name}: {problem} since {target.id} deployed it; refusing to serve it")
    wanted: dict[tuple[str, str], int | None] = {(name, environment): target.prompts[name].number if name in target.prompts else None for name in sorted(names)}
    states = session.registry.prompt_states(names, options.jobs)
    moves = deployplan.moves(wanted, states)
    for name in names:
        if name in target.prompts:
            serving[name] = target.prompts[name]
        else:
            serving.pop(name, None)
    deployment = Deployment(
        id="", status="PENDING", environment=environment, commit=target.commit, ref=target.ref, deployed_at=deployrecord.now(),
        reason=deployrecord.ROLLBACK, ci_url=deployrecord.ci_url(), previous=None if latest is None else latest.id,
        prompts=dict(sorted(serving.items())), moved={step.name: (step.before, step.after) for step in moves}, rolled_back_to=target.id,
    )
    known = rollout.known_versions([target.prompts, *(record.prompts for record in newest)])
    notes = [f"rolling {environment} back to deployment {target.id} ({target.reason} of {target.commit[:12]} at {target.deployed_at})"]
    return RolloutPlan(wanted, moves, [], deployment, notes), known, {"rolled_back_to": target.id}
