"""One writer per environment: a lease held in the registry while a deploy, rollback or split changes it.

MLflow has no compare-and-set on aliases, but creating a registered model is atomic (its name is
unique in the store): the lease is a registered model ``prompthooks-lease.<ENV>`` (not a prompt),
created before a run plans and deleted when it ends.  Its tags say who holds it (a token unique to
the run) and until when.  A run that finds a lease past its expiry (its holder crashed) takes it
over; since several may find it at once, taking over is itself an atomic create (a marker named
after the expired lease's token), so exactly one of them replaces it.  A run releases only its own
lease.  A crash blocks the environment for at most the holder's ``--timeout`` (plus a margin for a
request still in flight).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Final

from prompthooks import deployrecord
from prompthooks.errors import FatalError
from prompthooks.services.connection import Session

PREFIX: Final = "prompthooks-lease."
HOLDER_TAG: Final = "prompthooks_lease_holder"
TOKEN_TAG: Final = "prompthooks_lease_token"  # unique to the run that holds it
EXPIRES_TAG: Final = "prompthooks_lease_expires"  # seconds since the epoch
POLL_SECONDS: Final = 1.0
MARGIN_SECONDS: Final = 60.0  # beyond the holder's deadline: a request it sent may still land
EXIT_BUSY: Final = 1
PROMPT_TAG: Final = "mlflow.prompt.is_prompt"


def lease_name(environment: str) -> str:
    return PREFIX + environment


def _holder() -> str:
    where = f"{socket.gethostname()} pid {os.getpid()}"
    url = deployrecord.ci_url()
    return f"{where} ({url})" if url else where


def _expired(tags: dict[str, str], now: float) -> bool:
    try:
        return float(tags.get(EXPIRES_TAG, "0")) < now
    except ValueError:
        return True


def _take_over(session: Session, name: str, expired: dict[str, str]) -> None:
    """Replace an expired lease, as exactly one of the runs that found it: the one whose marker create wins."""
    registry = session.registry
    marker = f"{name}.takeover.{expired.get(TOKEN_TAG) or expired.get(EXPIRES_TAG, 'unknown')}"
    if not registry.create_lease(marker, {HOLDER_TAG: _holder()}):
        return  # another run is replacing it: try again from the start
    try:
        if registry.lease_tags(name) == expired:  # still the one found expired (not a new holder's)
            registry.delete_lease(name)
    finally:
        registry.delete_lease(marker)


@contextlib.contextmanager
def held(session: Session, environment: str) -> Iterator[None]:
    """Hold ``environment``'s lease for the block, waiting (until the run's deadline) while another run holds it."""
    registry, name = session.registry, lease_name(environment)
    token = uuid.uuid4().hex
    said = False
    while True:
        expires = time.time() + max(registry.deadline - time.monotonic(), 1.0) + MARGIN_SECONDS
        if registry.create_lease(name, {HOLDER_TAG: _holder(), TOKEN_TAG: token, EXPIRES_TAG: f"{expires:.0f}"}):
            break
        tags = registry.lease_tags(name)
        if tags is None:
            continue  # released between the two requests
        if HOLDER_TAG not in tags or PROMPT_TAG in tags:  # never take over (delete) what no prompthooks run created
            raise FatalError(
                f"a registered model named {name}, the name of {environment}'s deploy lease, is not one (a prompt?): rename it", exit_code=EXIT_BUSY
            )
        if _expired(tags, time.time()):
            print(f"prompthooks: note: taking over the lease on {environment} of {tags.get(HOLDER_TAG, '?')}, expired", file=sys.stderr)
            _take_over(session, name, tags)
            continue
        if time.monotonic() + POLL_SECONDS > registry.deadline:
            raise FatalError(
                f"{tags.get(HOLDER_TAG, 'another run')} is changing {environment} (its lease {name} expires at "
                f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(float(tags.get(EXPIRES_TAG, '0'))))}); run again when it is done",
                exit_code=EXIT_BUSY,
            )
        if not said:
            print(f"prompthooks: waiting for {tags.get(HOLDER_TAG, 'another run')}, which is changing {environment}", file=sys.stderr)
            said = True
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        with contextlib.suppress(FatalError):  # an unreachable registry: the lease expires by itself
            if (registry.lease_tags(name) or {}).get(TOKEN_TAG) == token:  # only our own: never one taken over meanwhile
                registry.delete_lease(name)
