"""One writer per environment: a lease held in the registry while a deploy, rollback or split changes it.

MLflow has no compare-and-set on aliases, but creating a registered model is atomic (its name is
unique in the store): the lease is a registered model ``prompthooks-lease.<ENV>`` (not a prompt),
created before a run plans and deleted when it ends.  Its tags say who holds it and until when;
a run that finds a lease past its expiry (its holder crashed) takes it over, so a crash blocks
the environment for at most the holder's ``--timeout``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Iterator
from typing import Final

from prompthooks import deployrecord
from prompthooks.errors import FatalError
from prompthooks.services.connection import Session

PREFIX: Final = "prompthooks-lease."
HOLDER_TAG: Final = "prompthooks_lease_holder"
EXPIRES_TAG: Final = "prompthooks_lease_expires"  # seconds since the epoch
POLL_SECONDS: Final = 1.0
EXIT_BUSY: Final = 1


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


@contextlib.contextmanager
def held(session: Session, environment: str) -> Iterator[None]:
    """Hold ``environment``'s lease for the block, waiting (until the run's deadline) while another run holds it."""
    registry, name = session.registry, lease_name(environment)
    said = False
    while True:
        expires = time.time() + max(registry.deadline - time.monotonic(), 1.0)
        if registry.create_lease(name, {HOLDER_TAG: _holder(), EXPIRES_TAG: f"{expires:.0f}"}):
            break
        tags = registry.lease_tags(name)
        if tags is None:
            continue  # released between the two requests
        if _expired(tags, time.time()):
            print(f"prompthooks: note: taking over the lease on {environment} of {tags.get(HOLDER_TAG, '?')}, expired", file=sys.stderr)
            registry.delete_lease(name)
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
            registry.delete_lease(name)
