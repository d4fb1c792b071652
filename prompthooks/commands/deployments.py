"""``prompthooks deployments``: an environment's deployment history, newest first."""

from __future__ import annotations

import json

from prompthooks import deployrecord
from prompthooks.deployrecord import Deployment
from prompthooks.services.connection import check_alias, connect
from prompthooks.services.deployments import records


def _moved(record: Deployment) -> str:
    parts = []
    for move in record.moved:
        where = move.name if move.alias == record.environment else f"{move.name}@{move.alias}"
        parts.append(f"{where} {move.before if move.before is not None else '-'}->{move.after if move.after is not None else 'removed'}")
    shown = ", ".join(parts[:5]) + (f" and {len(parts) - 5} more" if len(parts) > 5 else "")
    return f"{len(parts)} moved" + (f": {shown}" if parts else "")


def deployments(root: str, environment: str, tracking_uri: str | None, timeout: float, as_json: bool) -> int:
    check_alias(environment)
    session = connect(root, tracking_uri, timeout)
    history = records(session, environment)
    if as_json:
        document = [
            {
                **{key: value for key, value in record._asdict().items() if key not in ("prompts", "variants", "moved")},
                "prompts": {name: {"version": item.semver, "mlflow_version": item.number} for name, item in record.prompts.items()},
                "variants": {name: {"version": item.semver, "mlflow_version": item.number} for name, item in record.variants.items()},
                "moved": [{"prompt": move.name, "alias": move.alias, "from": move.before, "to": move.after} for move in record.moved],
            }
            for record in history
        ]
        print(json.dumps(document, indent=2))
        return 0
    if not history:
        print(f"no deployment of {environment} recorded in experiment {session.experiment!r} ({session.shown_uri})")
    for record in history:
        extra = []
        if record.rolled_back_to:
            extra.append(f"to {record.rolled_back_to}")
        if record.variant:
            extra.append(f"variant {record.variant}" + (f" at {record.weight}%" if record.weight is not None else ""))
        status = "" if record.status == deployrecord.READY else f" [{record.status}]"
        print(f"{record.id}  {record.deployed_at}  {record.reason}{' ' + ' '.join(extra) if extra else ''}{status}")
        print(f"    commit {record.commit[:12]} ({record.ref}), {len(record.prompts)} prompt(s) served; {_moved(record)}")
        if record.ci_url:
            print(f"    {record.ci_url}")
    return 0
