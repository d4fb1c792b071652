"""``prompthooks deploy`` and ``rollback``: point an environment's alias at versions, and record it.

Every change follows the same order: write a PENDING record (what this run will make the
environment serve), move the aliases (sets first, then split tags, then removals), read every
alias it decided again, and finalize the record READY, or FAILED naming what someone else
moved meanwhile (exit 1).  A run that would move nothing writes nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks import config, contract, deployplan, deployrecord
from prompthooks.commands import sync as sync_command
from prompthooks.deployplan import Move
from prompthooks.deployrecord import Deployment, Served
from prompthooks.errors import FatalError
from prompthooks.secrets import Redactor, display_uri

if TYPE_CHECKING:
    from prompthooks.registry import MlflowRegistry, PromptState

EXIT_USAGE: Final = 2
RECENT: Final = 20  # records read to find the latest READY one (more only when needed)
# Alias moves in flight per --jobs.  A move is one short upsert (about 25 ms of a server worker's CPU), and
# `mlflow server --workers N` (uvicorn, N > 1) answers on a kept-alive connection about 40 ms late (its
# workers' sockets lack TCP_NODELAY, so the response body waits for the client's delayed ACK): with only
# --jobs moves in flight the workers would sit idle most of the time.  Measured against the deploy bench's
# server (2 workers, 2 cores): a rollback of 1,000 prompts took 34.5 s with 8 moves in flight (2 x 4), 37.2
# and 38.5 s with 16, though moves alone ran 49/s with 8 and 59/s with 16: within this shared machine's noise,
# so the smaller load on a team's server wins.
MOVES_PER_JOB: Final = 2


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


class TagChange(NamedTuple):
    name: str
    key: str
    value: str | None  # None: remove the tag


class Session(NamedTuple):
    registry: MlflowRegistry
    redact: Redactor
    shown_uri: str
    experiment: str
    found: dict[str, str]  # the experiment's id, once looked up

    def experiment_id(self, create: bool) -> str | None:
        if "experiment" not in self.found:
            found = self.registry.experiment_id(self.experiment, create)
            if found is None:
                return None
            self.found["experiment"] = found
        return self.found["experiment"]


class Plan(NamedTuple):
    """One deployment: the aliases it decides, the tags it changes, and its record."""

    wanted: dict[tuple[str, str], int | None]
    moves: list[Move]
    tags: list[TagChange]
    deployment: Deployment
    notes: list[str]


def check_alias(alias: str, what: str = "environment") -> None:
    """Refuse a name MLflow would reject, before any request (exit 2)."""
    problem = contract.alias_problem(alias)
    if problem is not None:
        raise FatalError(problem.replace("environment", what, 1), exit_code=EXIT_USAGE)


def connect(root: str, tracking_uri: str | None, timeout: float) -> Session:
    uri = sync_command.tracking_uri(root, tracking_uri)
    redact = Redactor.for_tracking(uri)
    from prompthooks.registry import MlflowRegistry  # mlflow: only registry commands pay for its import

    try:
        registry = MlflowRegistry(uri, redact, time.monotonic() + timeout)
    except FatalError as error:
        error.message = redact(error.message)
        raise
    return Session(registry, redact, display_uri(uri), config.load(root).deployments_experiment, {})


def records(session: Session, environment: str, limit: int | None = None) -> list[Deployment]:
    """The environment's deployment records, newest first."""
    experiment_id = session.experiment_id(create=False)
    if experiment_id is None:
        return []
    found = session.registry.search_records(experiment_id, deployrecord.environment_filter(environment), limit)
    return [deployrecord.from_stored(record) for record in found]


def recent(session: Session, environment: str) -> tuple[Deployment | None, list[Deployment]]:
    """The latest READY record, and every record from the newest down to it."""
    found = records(session, environment, RECENT)
    if found and not any(record.status == deployrecord.READY for record in found) and len(found) == RECENT:
        found = records(session, environment)
    newest: list[Deployment] = []
    for record in found:
        newest.append(record)
        if record.status == deployrecord.READY:
            return record, newest
    return None, newest


def _parallel(jobs: int, action: Callable[[Move], None], moves: Sequence[Move]) -> None:
    if not moves:
        return
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(moves)))) as pool:
        list(pool.map(action, moves))


def execute(session: Session, plan: Plan, jobs: int) -> tuple[Deployment, list[Move]]:
    """Record, move, re-read, finalize: returns the record and the aliases overwritten meanwhile."""
    registry = session.registry
    experiment_id = session.experiment_id(create=True)
    assert experiment_id is not None
    deployment = plan.deployment
    record_id = registry.create_record(experiment_id, deployrecord.model_name(deployment), deployrecord.to_tags(deployment), deployrecord.MODEL_TYPE)

    def move(step: Move) -> None:
        if step.after is None:
            registry.delete_alias(step.name, step.alias)
        else:
            registry.set_alias(step.name, step.alias, step.after)

    _parallel(jobs * MOVES_PER_JOB, move, [step for step in plan.moves if step.after is not None])
    for change in plan.tags:
        if change.value is None:
            registry.delete_prompt_tag(change.name, change.key)
        else:
            registry.set_prompt_tag(change.name, change.key, change.value)
    _parallel(jobs * MOVES_PER_JOB, move, [step for step in plan.moves if step.after is None])
    after = registry.prompt_states({name for name, _ in plan.wanted}, jobs)
    overwritten = deployplan.overwritten(plan.wanted, after)
    registry.finalize_record(record_id, ready=not overwritten)
    status = "FAILED" if overwritten else deployrecord.READY
    return deployment._replace(id=record_id, status=status), overwritten


def _label(number: int | None, known: Mapping[int, str]) -> str:
    if number is None:
        return "(none)"
    return f"{known[number]} (MLflow version {number})" if number in known else f"MLflow version {number}"


def step_summary(
    shown_uri: str, plan: Plan, result: Deployment | None, overwritten: Sequence[Move], known: Mapping[str, dict[int, str]], dry_run: bool
) -> str:
    """The Markdown a GitHub Actions step summary gets: what moved (prompt, alias, from, to), and the record."""
    deployment = plan.deployment
    lines = [f"### prompthooks {deployment.reason} `{deployment.environment}` → `{shown_uri}` at `{deployment.commit[:12]}`", ""]
    if plan.moves:
        lines += ["| prompt | alias | from | to |", "|---|---|---|---|"]
        for step in plan.moves:
            versions = known.get(step.name, {})
            after = _label(step.after, versions) if step.after is not None else "removed"
            lines.append(f"| `{step.name}` | `{step.alias}` | {_label(step.before, versions)} | {after} |")
        lines.append("")
    verb = "would move" if dry_run else "moved"
    recorded = f"; deployment `{result.id}` ({result.status})" if result is not None else ""
    lines.append(f"{len(plan.moves)} alias(es) {verb}, {len(plan.wanted) - len(plan.moves)} unchanged{recorded}")
    for step in overwritten:
        lines.append(f"- **overwritten** `{step.name}@{step.alias}`: another run moved it to {_label(step.before, known.get(step.name, {}))}")
    return "\n".join([*lines, ""]) + "\n"


def report(session: Session, plan: Plan, result: Deployment | None, overwritten: Sequence[Move], options_json: bool, known: Mapping[str, dict[int, str]], extra: dict[str, object]) -> int:
    deployment = plan.deployment
    if options_json:
        document = {
            "environment": deployment.environment,
            "tracking_uri": session.shown_uri,
            "reason": deployment.reason,
            "commit": deployment.commit,
            "ref": deployment.ref,
            "deployment": None if result is None else result.id,
            "status": None if result is None else result.status,
            "previous": deployment.previous,
            "moves": [
                {"prompt": step.name, "alias": step.alias, "from": step.before, "to": step.after,
                 "from_version": known.get(step.name, {}).get(step.before or -1), "to_version": known.get(step.name, {}).get(step.after or -1)}
                for step in plan.moves
            ],
            "overwritten": [{"prompt": step.name, "alias": step.alias, "found": step.before, "wanted": step.after} for step in overwritten],
            "notes": plan.notes,
            **extra,
        }
        print(json.dumps(document, indent=2))
    else:
        for note in plan.notes:
            print(note)
        for step in plan.moves:
            versions = known.get(step.name, {})
            print(f"{step.name}@{step.alias}: {_label(step.before, versions)} -> {_label(step.after, versions) if step.after is not None else 'removed'}")
        for step in overwritten:
            print(
                f"overwritten {step.name}@{step.alias}: another run moved it to {_label(step.before, known.get(step.name, {}))} "
                f"after this one set {_label(step.after, known.get(step.name, {}))}",
                file=sys.stderr,
            )
        verb = "would move" if extra.get("dry_run") else "moved"
        what = f"{len(plan.moves)} alias(es) {verb}"
        where = f"{deployment.environment} at {deployment.commit[:12]} ({session.shown_uri})"
        recorded = f"; deployment {result.id} ({result.status})" if result is not None else ""
        print(f"prompthooks {deployment.reason}: {what}, {len(plan.wanted) - len(plan.moves)} unchanged; {where}{recorded}")
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:  # GitHub Actions: appended, as every step appends its own
        with open(summary_path, "a", encoding="utf-8") as file:
            file.write(step_summary(session.shown_uri, plan, result, overwritten, known, bool(extra.get("dry_run"))))
    if overwritten:
        names = ", ".join(f"{step.name}@{step.alias}" for step in overwritten)
        raise FatalError(f"another run moved {names} while this one deployed; {deployment.environment} may be mixed: run `prompthooks status {deployment.environment}`")
    return 0


def _run(session: Session, build: Callable[[], tuple[Plan, dict[str, dict[int, str]], dict[str, object]]], dry_run: bool, as_json: bool, jobs: int) -> int:
    try:
        plan, known, extra = build()
        result, overwritten = (None, []) if dry_run or not (plan.moves or plan.tags) else execute(session, plan, jobs)
    except FatalError as error:
        error.message = session.redact(error.message)
        raise
    return report(session, plan, result, overwritten, as_json, known, {"dry_run": dry_run, **extra})


def _known(served: Iterable[Mapping[str, Served]]) -> dict[str, dict[int, str]]:
    known: dict[str, dict[int, str]] = {}
    for mapping in served:
        for name, item in mapping.items():
            known.setdefault(name, {})[item.number] = item.semver
    return known


def _targets(session: Session, root: str, ref: str, jobs: int, dry_run: bool) -> tuple[str, dict[str, Served], list[str]]:
    """Register what the registry lacks at ``ref`` (as sync does); the MLflow version of each locked prompt."""
    commit, prompts, origins = sync_command.read_ref(root, ref)
    outcomes = sync_command.register_missing(session.registry, prompts, origins, jobs, dry_run)
    conflicts = [outcome for outcome in outcomes if outcome.result in ("conflict", "rejected")]
    if conflicts:
        lines = [f"conflict {outcome.step.prompt.name} {outcome.step.prompt.entry.version}: {outcome.detail}" for outcome in conflicts]
        raise FatalError("\n".join([*lines, f"nothing deployed: {len(conflicts)} prompt version(s) at {ref} conflict with the registry (see `prompthooks sync`)"]))
    notes = [f"registered {o.step.prompt.name} {o.step.prompt.entry.version} as MLflow version {o.number}" for o in outcomes if o.result == "registered"]
    notes += [f"would register {o.step.prompt.name} {o.step.prompt.entry.version}" for o in outcomes if o.result == "would-register"]
    targets = {o.step.prompt.name: Served(o.step.prompt.entry.version, o.number if o.number is not None else -1) for o in outcomes}
    return commit, targets, notes


def _ref_name(root: str, ref: str) -> str:
    """The branch or tag the user named (``HEAD`` becomes the branch checked out, when there is one)."""
    if ref != "HEAD":
        return ref
    from prompthooks import git

    result = git.run(["symbolic-ref", "--short", "-q", "HEAD"], cwd=root)
    name = result.stdout.decode().strip()
    return name or os.environ.get("GITHUB_REF_NAME") or ref


def deploy(root: str, options: Options) -> int:
    environment = options.environment
    check_alias(environment)
    if options.variant is not None:
        check_alias(f"{environment}-{options.variant}", "variant alias")
        if options.weight is None or not 1 <= options.weight <= 99:
            raise FatalError("--variant needs --weight between 1 and 99 (the variant's share of traffic, in percent)", exit_code=EXIT_USAGE)
    if options.promote is not None:
        check_alias(f"{environment}-{options.promote}", "variant alias")
    session = connect(root, options.tracking_uri, options.timeout)
    if options.promote is not None or options.end_split:
        build = lambda: _end_split_plan(session, environment, options.promote)  # noqa: E731
    elif options.variant is not None:
        assert options.weight is not None
        variant, weight = options.variant, options.weight
        build = lambda: _split_plan(session, root, options, variant, weight)  # noqa: E731
    else:
        build = lambda: _deploy_plan(session, root, options.ref, environment, options.jobs, options.dry_run, deployrecord.DEPLOY)  # noqa: E731
    return _run(session, build, options.dry_run, options.json, options.jobs)


def _deploy_plan(
    session: Session, root: str, ref: str, environment: str, jobs: int, dry_run: bool, reason: str
) -> tuple[Plan, dict[str, dict[int, str]], dict[str, object]]:
    commit, targets, notes = _targets(session, root, ref, jobs, dry_run)
    latest, newest = recent(session, environment)
    previously = {name for record in newest for name in record.prompts}
    wanted: dict[tuple[str, str], int | None] = {(name, environment): served.number for name, served in targets.items()}
    wanted.update({(name, environment): None for name in sorted(previously - set(targets))})
    states = session.registry.prompt_states((name for name, _ in wanted), jobs)
    notes += [f"{name}: no longer in the lock at {ref}; removing {name}@{environment}" for name in sorted(previously - set(targets)) if deployplan.current(states, name, environment) is not None]
    notes += _split_notes(states, environment)
    moves = deployplan.moves(wanted, states)
    deployment = Deployment(
        id="", status="PENDING", environment=environment, commit=commit, ref=_ref_name(root, ref), deployed_at=deployrecord.now(),
        reason=reason, ci_url=deployrecord.ci_url(), previous=None if latest is None else latest.id,
        prompts=dict(sorted(targets.items())), moved={step.name: (step.before, step.after) for step in moves},
    )
    known = _known([targets, *(record.prompts for record in newest)])
    return Plan(wanted, moves, [], deployment, notes), known, {}


def _split_notes(states: Mapping[str, PromptState], environment: str) -> list[str]:
    key = contract.split_tag(environment)
    return [f"{name}: A/B split active on {environment}: {state.tags[key]}" for name, state in sorted(states.items()) if key in state.tags]


def _split_plan(session: Session, root: str, options: Options, variant: str, weight: int) -> tuple[Plan, dict[str, dict[int, str]], dict[str, object]]:
    environment = options.environment
    alias = f"{environment}-{variant}"
    key = contract.split_tag(environment)
    commit, targets, notes = _targets(session, root, options.ref, options.jobs, options.dry_run)
    latest, newest = recent(session, environment)
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
        id="", status="PENDING", environment=environment, commit=commit, ref=_ref_name(root, options.ref), deployed_at=deployrecord.now(),
        reason=deployrecord.SPLIT, ci_url=deployrecord.ci_url(), previous=None if latest is None else latest.id,
        prompts=serving, moved={step.name: (step.before, step.after) for step in moves}, variant=alias, weight=weight, variants=variants,
    )
    known = _known([targets, *(record.prompts for record in newest)])
    return Plan(wanted, moves, tags, deployment, notes), known, {"variant": alias, "weight": weight}


def _end_split_plan(session: Session, environment: str, promote: str | None) -> tuple[Plan, dict[str, dict[int, str]], dict[str, object]]:
    key = contract.split_tag(environment)
    latest, newest = recent(session, environment)
    states = session.registry.prompts_tagged(key)
    promoted = None if promote is None else f"{environment}-{promote}"
    wanted: dict[tuple[str, str], int | None] = {}
    tags: list[TagChange] = []
    serving = dict(latest.prompts) if latest is not None else {}
    notes: list[str] = []
    numbers: dict[str, int] = {}
    for name, state in sorted(states.items()):
        weights = deployplan.parse_split(state.tags.get(key))
        if promoted is not None:
            if promoted not in state.aliases:
                continue
            numbers[name] = state.aliases[promoted]
            wanted[(name, environment)] = state.aliases[promoted]
            wanted[(name, promoted)] = None
            remaining = deployplan.without_variant(weights, environment, promoted)
            tags.append(TagChange(name, key, None if remaining is None else deployplan.split_json(remaining)))
        else:
            tags.append(TagChange(name, key, None))
            for alias in sorted({*weights, *state.aliases} - {environment}):
                if alias.startswith(f"{environment}-") and (alias in weights or alias in state.aliases):
                    wanted[(name, alias)] = None
    if promoted is not None and not numbers:
        raise FatalError(f"no prompt carries {promoted} in a split of {environment}: nothing to promote")
    if numbers:
        versions = session.registry.list_versions(numbers)
        for name, number in numbers.items():
            semver = next((version.semver for version in versions.get(name, []) if version.number == number), None)
            serving[name] = Served(semver or "?", number)
    moves = deployplan.moves(wanted, states)
    reason = deployrecord.END_SPLIT if promoted is None else deployrecord.PROMOTE
    commit = latest.commit if latest is not None else ""
    deployment = Deployment(
        id="", status="PENDING", environment=environment, commit=commit, ref=latest.ref if latest is not None else "", deployed_at=deployrecord.now(),
        reason=reason, ci_url=deployrecord.ci_url(), previous=None if latest is None else latest.id,
        prompts=serving, moved={step.name: (step.before, step.after) for step in moves}, variant=promoted,
    )
    if not tags and not moves:
        notes.append(f"no A/B split active on {environment}")
    known = _known([serving, *(record.prompts for record in newest), *(record.variants for record in newest)])
    return Plan(wanted, moves, tags, deployment, notes), known, {}


def rollback(root: str, options: RollbackOptions) -> int:
    environment = options.environment
    check_alias(environment)
    if options.to is not None and options.ref is not None:
        raise FatalError("choose --to DEPLOYMENT or --ref REF, not both", exit_code=EXIT_USAGE)
    session = connect(root, options.tracking_uri, options.timeout)
    if options.ref is not None:
        ref = options.ref

        def by_ref() -> tuple[Plan, dict[str, dict[int, str]], dict[str, object]]:
            plan, known, extra = _deploy_plan(session, root, ref, environment, options.jobs, options.dry_run, deployrecord.ROLLBACK)
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

        return _run(session, by_ref, options.dry_run, options.json, options.jobs)
    return _run(session, lambda: _rollback_plan(session, options), options.dry_run, options.json, options.jobs)


def _only(plan: Plan, names: Sequence[str], environment: str) -> Plan:
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


def _rollback_plan(session: Session, options: RollbackOptions) -> tuple[Plan, dict[str, dict[int, str]], dict[str, object]]:
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
        if found.hash is None or found.content_hash != found.hash:
            raise FatalError(f"{name} MLflow version {served.number} was modified in the registry since {target.id} deployed it; refusing to serve it")
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
    known = _known([target.prompts, *(record.prompts for record in newest)])
    notes = [f"rolling {environment} back to deployment {target.id} ({target.reason} of {target.commit[:12]} at {target.deployed_at})"]
    return Plan(wanted, moves, [], deployment, notes), known, {"rolled_back_to": target.id}
