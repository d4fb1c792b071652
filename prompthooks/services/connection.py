"""Which registry a command talks to, and a session with it (the registry, its experiment of deployment records)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, NamedTuple

from prompthooks import config, contract
from prompthooks.errors import FatalError
from prompthooks.secrets import display_uri

if TYPE_CHECKING:
    from prompthooks.registry.client import MlflowRegistry

EMBEDDED_STORE: Final = ".prompthooks"
EMBEDDED_DB: Final = "mlflow.db"
EMBEDDED_LOCK: Final = "sync.lock"
EXIT_USAGE: Final = 2
EXIT_UNREACHABLE: Final = 4


def tracking_uri(root: str, flag: str | None) -> str:
    """The flag, else MLFLOW_TRACKING_URI, else a sqlite store in the repository (created, git-ignored)."""
    uri = flag or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    store = os.path.join(root, EMBEDDED_STORE)
    os.makedirs(store, exist_ok=True)
    ignore = os.path.join(store, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w") as file:
            file.write("# prompthooks' local MLflow store: not for git\n*\n")
    return embedded_uri(root)


def embedded_uri(root: str) -> str:
    return "sqlite:///" + os.path.join(root, EMBEDDED_STORE, EMBEDDED_DB)


@contextlib.contextmanager
def embedded_store_lock(root: str, uri: str, deadline: float) -> Iterator[None]:
    """Run one writer at a time on the embedded sqlite store.

    MLflow creates a new sqlite store's schema without a lock, so two syncs on
    a fresh store fail ("table experiment_tags already exists"); sqlite takes
    one writer at a time anyway.  Other stores (a server, PostgreSQL) are not
    serialized: sync is safe to run concurrently there.
    """
    if uri != embedded_uri(root):
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent syncs on one embedded store are unsupported there
        yield
        return
    path = os.path.join(root, EMBEDDED_STORE, EMBEDDED_LOCK)
    with open(path, "a") as file:
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise FatalError(
                        "another prompthooks sync kept the embedded store busy past the deadline; wait for it, or raise --timeout",
                        path=path,
                        exit_code=EXIT_UNREACHABLE,
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def check_alias(alias: str) -> None:
    """Refuse an environment name MLflow would reject, before any request (exit 2): for commands that read."""
    problem = contract.alias_problem(alias)
    if problem is not None:
        raise FatalError(problem, exit_code=EXIT_USAGE)


def check_deployable(environment: str, variant: str | None = None) -> None:
    """Refuse, before any request (exit 2), an environment or variant whose aliases or tags MLflow would reject."""
    problem = contract.environment_problem(environment)
    if problem is None and variant is not None:
        problem = contract.variant_problem(environment, variant)
    if problem is not None:
        raise FatalError(problem, exit_code=EXIT_USAGE)


def open_registry(root: str, flag: str | None, timeout: float) -> MlflowRegistry:
    """The registry a command names (``--tracking-uri``, else the environment, else the embedded store), with a deadline."""
    from prompthooks.registry.client import MlflowRegistry  # mlflow: only registry commands pay for its import

    uri = tracking_uri(root, flag)
    return MlflowRegistry(uri, time.monotonic() + timeout)


class Session(NamedTuple):
    registry: MlflowRegistry
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


def connect(root: str, flag: str | None, timeout: float) -> Session:
    """A session with the registry and the experiment that holds the deployment records."""
    registry = open_registry(root, flag, timeout)
    return Session(registry, display_uri(registry.uri), config.load(root).deployments_experiment, {})
