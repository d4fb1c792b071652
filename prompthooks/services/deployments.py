"""An environment's deployment records, as stored in the registry's experiment, newest first."""

from __future__ import annotations

from typing import Final

from prompthooks import deployrecord
from prompthooks.deployrecord import Deployment
from prompthooks.services.connection import Session

RECENT: Final = 20  # records read to find the latest READY one (more only when needed)


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
