"""Deployment records: what an environment serves after each deploy, rollback or split change (pure).

A record is an MLflow 3 LoggedModel (the application version, MLflow's own entity for
"this release used prompts A@3 and B@5") in an experiment (``llmops-prompts`` unless
configured), written in one request with every field as a tag:

- ``mlflow.source.git.commit``: the commit deployed; ``mlflow.linkedPrompts``: the prompt
  versions served, in the format ``link_prompt_version_to_model`` writes, so MLflow's UI
  and ``search_logged_models`` see them without prompthooks;
- ``prompthooks_environment``, ``prompthooks_ref``, ``prompthooks_reason``,
  ``prompthooks_deployed_at`` (UTC ISO 8601), ``prompthooks_ci_url``, ``prompthooks_previous``;
- ``prompthooks_prompts_1``, ``_2``...: JSON ``{"name": ["1.2.0", 7]}`` (semver, MLflow version)
  of every prompt the environment serves afterwards, split into 8,000-character tags (the
  smallest tag limit MLflow has); ``prompthooks_moved_*``: ``[["name", "alias", from, to], ...]``, every
  alias move it decided (``prompthooks_done_*``, the same, on a FAILED record: the moves made before it failed);
- ``prompthooks_variant_commit``: a split's candidate commit (``mlflow.source.git.commit`` stays the commit
  whose versions the main arm serves).
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from prompthooks.deployplan import Move
from prompthooks.errors import FatalError

if TYPE_CHECKING:
    from prompthooks.registry.stored import StoredRecord

MODEL_TYPE: Final = "prompthooks-deployment"
TAG_GIT_COMMIT: Final = "mlflow.source.git.commit"
TAG_LINKED_PROMPTS: Final = "mlflow.linkedPrompts"
TAG_ENVIRONMENT: Final = "prompthooks_environment"
TAG_REF: Final = "prompthooks_ref"
TAG_REASON: Final = "prompthooks_reason"
TAG_DEPLOYED_AT: Final = "prompthooks_deployed_at"
TAG_CI_URL: Final = "prompthooks_ci_url"
TAG_PREVIOUS: Final = "prompthooks_previous"
TAG_ROLLED_BACK_TO: Final = "prompthooks_rolled_back_to"
TAG_VARIANT: Final = "prompthooks_variant"
TAG_WEIGHT: Final = "prompthooks_weight"
TAG_VARIANT_COMMIT: Final = "prompthooks_variant_commit"
PROMPTS: Final = "prompthooks_prompts"
MOVED: Final = "prompthooks_moved"
DONE: Final = "prompthooks_done"
VARIANTS: Final = "prompthooks_variant_prompts"
CHUNK: Final = 8000

DEPLOY: Final = "deploy"
ROLLBACK: Final = "rollback"
SPLIT: Final = "split"
PROMOTE: Final = "promote"
END_SPLIT: Final = "end-split"
READY: Final = "READY"
FAILED: Final = "FAILED"
PENDING: Final = "PENDING"


class Served(NamedTuple):
    semver: str
    number: int  # the MLflow version number


class Deployment(NamedTuple):
    id: str
    status: str  # READY; FAILED (interrupted, or an alias overwritten meanwhile); PENDING (running, or crashed)
    environment: str
    commit: str  # whose versions the main arm serves
    ref: str
    deployed_at: str
    reason: str
    ci_url: str | None
    previous: str | None  # the id of the READY record before it
    prompts: dict[str, Served]  # what the environment serves afterwards
    moved: tuple[Move, ...]  # every alias move decided (on a FAILED record: made)
    variant: str | None = None  # the variant alias of a split
    weight: int | None = None
    variants: Mapping[str, Served] = {}  # noqa: B006 (never mutated)
    rolled_back_to: str | None = None
    variant_commit: str | None = None  # a split's candidate commit


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ci_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """The GitHub Actions run URL, when running there."""
    server, repository, run = (environ.get(key) for key in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if not (server and repository and run):
        return None
    attempt = environ.get("GITHUB_RUN_ATTEMPT")
    return f"{server}/{repository}/actions/runs/{run}" + (f"/attempts/{attempt}" if attempt and attempt != "1" else "")


def _chunks(key: str, value: str) -> dict[str, str]:
    pieces = [value[start : start + CHUNK] for start in range(0, len(value), CHUNK)] or [""]
    return {f"{key}_{index}": piece for index, piece in enumerate(pieces, 1)}


def _joined(tags: Mapping[str, str], key: str) -> str | None:
    pieces: list[str] = []
    while f"{key}_{len(pieces) + 1}" in tags:
        pieces.append(tags[f"{key}_{len(pieces) + 1}"])
    return "".join(pieces) if pieces else None


def _served_json(served: Mapping[str, Served]) -> str:
    return json.dumps({name: [item.semver, item.number] for name, item in sorted(served.items())}, separators=(",", ":"))


def to_tags(deployment: Deployment) -> dict[str, str]:
    linked = [{"name": name, "version": str(item.number)} for name, item in sorted(deployment.prompts.items())]
    linked += [{"name": name, "version": str(item.number)} for name, item in sorted(deployment.variants.items())]
    tags = {
        TAG_GIT_COMMIT: deployment.commit,
        TAG_ENVIRONMENT: deployment.environment,
        TAG_REF: deployment.ref,
        TAG_REASON: deployment.reason,
        TAG_DEPLOYED_AT: deployment.deployed_at,
        TAG_LINKED_PROMPTS: json.dumps(linked),
        **_chunks(PROMPTS, _served_json(deployment.prompts)),
        **_chunks(MOVED, moves_json(deployment.moved)),
    }
    optional = {
        TAG_CI_URL: deployment.ci_url,
        TAG_PREVIOUS: deployment.previous,
        TAG_ROLLED_BACK_TO: deployment.rolled_back_to,
        TAG_VARIANT: deployment.variant,
        TAG_WEIGHT: None if deployment.weight is None else str(deployment.weight),
        TAG_VARIANT_COMMIT: deployment.variant_commit,
    }
    tags.update({key: value for key, value in optional.items() if value is not None})
    if deployment.variants:
        tags.update(_chunks(VARIANTS, _served_json(deployment.variants)))
    return tags


def moves_json(moves: tuple[Move, ...] | list[Move]) -> str:
    return json.dumps([list(move) for move in sorted(moves)], separators=(",", ":"))


def done_tags(moves: list[Move]) -> dict[str, str]:
    """The tags a FAILED record gets: the moves made before the run failed."""
    return _chunks(DONE, moves_json(moves))


def _moves(raw: str | None, environment: str) -> tuple[Move, ...]:
    if raw is None:
        return ()
    parsed: Any = json.loads(raw)
    if isinstance(parsed, dict):  # records before 0.2: {"name": [from, to]}, all on the environment's own alias
        return tuple(Move(str(name), environment, change[0], change[1]) for name, change in sorted(parsed.items()))
    return tuple(Move(str(item[0]), str(item[1]), item[2], item[3]) for item in parsed)


def model_name(deployment: Deployment) -> str:
    return f"{deployment.environment}-{deployment.reason}-{deployment.commit[:12]}"


def _served(raw: str | None, record_id: str) -> dict[str, Served]:
    if raw is None:
        return {}
    parsed: Any = json.loads(raw)
    if not isinstance(parsed, dict):
        raise ValueError(f"record {record_id}: not a JSON object")
    return {str(name): Served(str(item[0]), int(item[1])) for name, item in parsed.items()}


def from_stored(record: StoredRecord) -> Deployment:
    tags = record.tags
    try:
        environment = tags[TAG_ENVIRONMENT]
        done = _joined(tags, DONE)
        moved = _moves(done if done is not None else _joined(tags, MOVED), environment)
        weight = tags.get(TAG_WEIGHT)
        return Deployment(
            id=record.id,
            status=record.status,
            environment=environment,
            commit=tags.get(TAG_GIT_COMMIT, ""),
            ref=tags.get(TAG_REF, ""),
            deployed_at=tags.get(TAG_DEPLOYED_AT, ""),
            reason=tags.get(TAG_REASON, DEPLOY),
            ci_url=tags.get(TAG_CI_URL),
            previous=tags.get(TAG_PREVIOUS),
            prompts=_served(_joined(tags, PROMPTS), record.id),
            moved=moved,
            variant=tags.get(TAG_VARIANT),
            weight=None if weight is None else int(weight),
            variants=_served(_joined(tags, VARIANTS), record.id),
            rolled_back_to=tags.get(TAG_ROLLED_BACK_TO),
            variant_commit=tags.get(TAG_VARIANT_COMMIT),
        )
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as error:
        raise FatalError(f"deployment record {record.id} is not readable ({type(error).__name__}: {error}); was it edited by hand?") from None


def environment_filter(environment: str) -> str:
    return f"tags.`{TAG_ENVIRONMENT}` = '{environment}'"
