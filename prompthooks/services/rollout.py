"""A rollout: what a deploy or rollback decides (a plan), carried out in order and reported.

Every change holds the environment's lease (``services.lease``: one writer per environment)
and follows the same order: write a PENDING record (what this run will make the environment
serve), move the aliases (sets first, then split tags, then removals), read every alias it
decided again, and finalize the record READY, or FAILED naming what someone else moved
meanwhile (exit 1).  A run interrupted midway finalizes its record FAILED with the moves it
made, and its last line says which command repairs the environment.  A run that would move
nothing writes nothing, unless the records disagree with what the aliases serve (an earlier
run failed midway): then it records the state it confirmed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks import contract, deployplan, deployrecord, git
from prompthooks.deployplan import Move
from prompthooks.deployrecord import Deployment, Served
from prompthooks.errors import FatalError
from prompthooks.services import lease, registration
from prompthooks.services.connection import Session
from prompthooks.services.deployments import recent

if TYPE_CHECKING:
    from prompthooks.registry.stored import PromptState

# Alias moves in flight per --jobs.  A move is one short upsert (about 25 ms of a server worker's CPU), and
# `mlflow server --workers N` (uvicorn, N > 1) answers on a kept-alive connection about 40 ms late (its
# workers' sockets lack TCP_NODELAY, so the response body waits for the client's delayed ACK): with only
# --jobs moves in flight the workers would sit idle most of the time.  Measured against the deploy bench's
# server (2 workers, 2 cores): a rollback of 1,000 prompts took 34.5 s with 8 moves in flight (2 x 4), 37.2
# and 38.5 s with 16, though moves alone ran 49/s with 8 and 59/s with 16: within this shared machine's noise,
# so the smaller load on a team's server wins.
MOVES_PER_JOB: Final = 2


class TagChange(NamedTuple):
    name: str
    key: str
    value: str | None  # None: remove the tag


class RolloutPlan(NamedTuple):
    """One deployment: the aliases it decides, the tags it changes, and its record."""

    wanted: dict[tuple[str, str], int | None]
    moves: list[Move]
    tags: list[TagChange]
    deployment: Deployment
    notes: list[str]
    stale_records: bool = False  # the newest record is not READY, or not what the aliases serve: record even a no-op
    last_good: str | None = None  # the latest READY record before this run (for the repair hint)


Built = tuple[RolloutPlan, dict[str, dict[int, str]], dict[str, object]]
"""A plan, the semver of every MLflow version it names (for messages), and extra fields for --json."""


def _parallel(jobs: int, action: Callable[[Move], None], moves: Sequence[Move]) -> None:
    if not moves:
        return
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(moves)))) as pool:
        list(pool.map(action, moves))


class Interrupted(FatalError):
    """A run failed after its first alias move: the environment is partly moved."""


def execute(session: Session, plan: RolloutPlan, jobs: int) -> tuple[Deployment, list[Move]]:
    """Record, move, re-read, finalize: returns the record and the aliases overwritten meanwhile."""
    registry = session.registry
    experiment_id = session.experiment_id(create=True)
    assert experiment_id is not None
    deployment = plan.deployment
    record_id = registry.create_record(experiment_id, deployrecord.model_name(deployment), deployrecord.to_tags(deployment), deployrecord.MODEL_TYPE)
    done: list[Move] = []

    def move(step: Move) -> None:
        if step.after is None:
            registry.delete_alias(step.name, step.alias)
        else:
            registry.set_alias(step.name, step.alias, step.after)
        done.append(step)

    try:
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
    except BaseException as error:  # a registry failure, Ctrl-C, SIGTERM: never leave the record PENDING
        raise _interrupted(session, plan, record_id, done, error) from None
    status = deployrecord.FAILED if overwritten else deployrecord.READY
    return deployment._replace(id=record_id, status=status), overwritten


def _interrupted(session: Session, plan: RolloutPlan, record_id: str, done: list[Move], error: BaseException) -> BaseException:
    """Finalize the record FAILED with the moves made, and say how to repair the environment."""
    environment = plan.deployment.environment
    try:
        session.registry.set_record_tags(record_id, deployrecord.done_tags(done))
        session.registry.finalize_record(record_id, ready=False)
        recorded = f"deployment {record_id} is recorded FAILED with the {len(done)} move(s) made"
    except FatalError:
        recorded = f"deployment {record_id} could not be finalized (it stays PENDING)"
    if not isinstance(error, FatalError):
        return error  # Ctrl-C and bugs go on as they are, after the record
    if not done and not plan.tags:
        return FatalError(f"{error.message}\nnothing moved; {recorded}", exit_code=error.exit_code)
    back = f"`prompthooks rollback {environment}` returns it to deployment {plan.last_good}" if plan.last_good else "redeploy a ref"
    return Interrupted(
        f"{error.message}\n{environment} is partly moved: {len(done)} of {len(plan.moves)} alias move(s) made; {recorded}; "
        f"{back}, or run this {plan.deployment.reason} again",
        exit_code=error.exit_code,
    )


def _label(number: int | None, known: Mapping[int, str]) -> str:
    if number is None:
        return "(none)"
    return f"{known[number]} (MLflow version {number})" if number in known else f"MLflow version {number}"


def step_summary(
    shown_uri: str, plan: RolloutPlan, result: Deployment | None, overwritten: Sequence[Move], known: Mapping[str, dict[int, str]], dry_run: bool
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


def report(session: Session, plan: RolloutPlan, result: Deployment | None, overwritten: Sequence[Move], options_json: bool, known: Mapping[str, dict[int, str]], extra: dict[str, object]) -> int:
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


def run(session: Session, build: Callable[[], Built], dry_run: bool, as_json: bool, jobs: int, environment: str) -> int:
    """Plan and carry out one change of ``environment``, holding its lease (a dry run only plans)."""
    if dry_run:
        plan, known, extra = build()
        return report(session, plan, None, [], as_json, known, {"dry_run": True, **extra})
    with lease.held(session, environment):
        plan, known, extra = build()
        changes = plan.moves or plan.tags or plan.stale_records
        result, overwritten = execute(session, plan, jobs) if changes else (None, [])
    return report(session, plan, result, overwritten, as_json, known, {"dry_run": False, **extra})


def is_own_variant(alias: str, environment: str, newest: Iterable[Deployment]) -> bool:
    """A variant alias of ``environment``: ``ENV--NAME``, or one its own split records created (splits made before
    variants took ``--`` named them ``ENV-NAME``).  Never an alias a split tag merely names: that may be anyone's."""
    return contract.is_variant_of(alias, environment) or any(record.variant == alias for record in newest)


def known_versions(served: Iterable[Mapping[str, Served]]) -> dict[str, dict[int, str]]:
    known: dict[str, dict[int, str]] = {}
    for mapping in served:
        for name, item in mapping.items():
            known.setdefault(name, {})[item.number] = item.semver
    return known


def register_targets(session: Session, root: str, ref: str, jobs: int, dry_run: bool) -> tuple[str, dict[str, Served], list[str]]:
    """Register what the registry lacks at ``ref`` (as sync does); the MLflow version of each locked prompt."""
    commit, prompts, origins = registration.read_ref(root, ref)
    # current={}: a version is registered only above every semver the registry holds, so deploying an old,
    # never-synced ref cannot put an old version on top of prompts:/NAME@latest (as sync --backfill refuses).
    outcomes = registration.register_missing(session.registry, prompts, origins, jobs, dry_run, current={})
    conflicts = [outcome for outcome in outcomes if outcome.result in ("conflict", "rejected")]
    if conflicts:
        lines = [f"conflict {outcome.step.prompt.name} {outcome.step.prompt.entry.version}: {outcome.detail}" for outcome in conflicts]
        raise FatalError("\n".join([*lines, f"nothing deployed: {len(conflicts)} prompt version(s) at {ref} conflict with the registry (see `prompthooks sync`)"]))
    notes = [f"registered {o.step.prompt.name} {o.step.prompt.entry.version} as MLflow version {o.number}" for o in outcomes if o.result == "registered"]
    notes += [f"would register {o.step.prompt.name} {o.step.prompt.entry.version}" for o in outcomes if o.result == "would-register"]
    targets = {o.step.prompt.name: Served(o.step.prompt.entry.version, o.number if o.number is not None else -1) for o in outcomes}
    return commit, targets, notes


def ref_name(root: str, ref: str) -> str:
    """The branch or tag the user named (``HEAD`` becomes the branch checked out, when there is one)."""
    if ref != "HEAD":
        return ref
    result = git.run(["symbolic-ref", "--short", "-q", "HEAD"], cwd=root)
    name = result.stdout.decode().strip()
    return name or os.environ.get("GITHUB_REF_NAME") or ref


def deploy_plan(
    session: Session, root: str, ref: str, environment: str, jobs: int, dry_run: bool, reason: str
) -> Built:
    commit, targets, notes = register_targets(session, root, ref, jobs, dry_run)
    latest, newest = recent(session, environment)
    previously = {name for record in newest for name in record.prompts}
    wanted: dict[tuple[str, str], int | None] = {(name, environment): served.number for name, served in targets.items()}
    wanted.update({(name, environment): None for name in sorted(previously - set(targets))})
    states = session.registry.prompt_states((name for name, _ in wanted), jobs)
    notes += [f"{name}: no longer in the lock at {ref}; removing {name}@{environment}" for name in sorted(previously - set(targets)) if deployplan.current(states, name, environment) is not None]
    notes += split_notes(states, environment)
    moves = deployplan.moves(wanted, states)
    deployment = Deployment(
        id="", status="PENDING", environment=environment, commit=commit, ref=ref_name(root, ref), deployed_at=deployrecord.now(),
        reason=reason, ci_url=deployrecord.ci_url(), previous=None if latest is None else latest.id,
        prompts=dict(sorted(targets.items())), moved=tuple(moves),
    )
    known = known_versions([targets, *(record.prompts for record in newest)])
    stale = bool(newest) and (newest[0].status != deployrecord.READY or newest[0].prompts != deployment.prompts)
    return RolloutPlan(wanted, moves, [], deployment, notes, stale, None if latest is None else latest.id), known, {}


def split_notes(states: Mapping[str, PromptState], environment: str) -> list[str]:
    key = contract.split_tag(environment)
    return [f"{name}: A/B split active on {environment}: {state.tags[key]}" for name, state in sorted(states.items()) if key in state.tags]
