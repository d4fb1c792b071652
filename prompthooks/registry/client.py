"""Requests to an MLflow Prompt Registry, as sync and deploy make them (the loader's reads are ``runtime.reader``).

A prompt is a registered model tagged ``mlflow.prompt.is_prompt``; each of its
versions holds the template in a tag.  Searching versions by tag needs that
tag in the filter, or MLflow silently returns nothing.  Every request goes
through ``_call``: one deadline, one mapping of failures to exit codes.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final, TypeVar

from prompthooks.contract import TAG_PROMPT_TAGS, TAG_VERSION
from prompthooks.errors import FatalError
from prompthooks.records import CommittedPrompt
from prompthooks.registry.payload import PromptMetadata, Registration, Rejected, is_user_key, prompt_metadata, registration
from prompthooks.registry.stored import IS_PROMPT_FILTER, IS_PROMPT_MODEL_FILTER, PromptState, StoredRecord, StoredVersion, tag_dict
from prompthooks.registry.traces import PAGE_SIZE, request_ms
from prompthooks.secrets import Redactor, display_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient

EXIT_UNREACHABLE: Final = 4
EXIT_NOT_AUTHORIZED: Final = 5
HTTP_BAD_REQUEST: Final = 400
# sqlite "UNIQUE constraint failed", PostgreSQL "duplicate key value violates unique constraint", MySQL "Duplicate entry"
UNIQUE_VIOLATION: Final = re.compile(r"unique constraint|duplicate entry", re.IGNORECASE)

NAMES_PER_SEARCH: Final = 100  # keeps the search's query string short
EXPERIMENTS_PER_SEARCH: Final = 1000
TRACE_ORDER: Final = ["timestamp_ms DESC", "request_id ASC"]  # MLflow's own order, named: pages of one search never reorder
# Bounded HTTP retries unless the user chose their own; the deadline bounds the whole run.
RETRY_DEFAULTS: Final = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
# Connections kept alive per host (MLflow keeps 10): deploy moves 2 x --jobs aliases at once.
HTTP_CONNECTIONS: Final = "32"
# Modules MLflow's client tries to import on every request, to tell whether it runs on Databricks.
DATABRICKS_PROBES: Final = ("dbruntime", "IPython", "pyspark")

T = TypeVar("T")
Page = tuple[list[T], "str | None"]  # a page's items and the next page's token


class RegistryError(FatalError):
    pass


def remember_absent_probes() -> None:
    """Make MLflow's per-request Databricks probes fail at once where their modules are not installed.

    Each request MLflow's client sends first tries eleven imports (dbruntime five times, IPython
    four, pyspark twice); a module that is not installed is searched for on ``sys.path`` again
    every time, about 1.3 ms of client CPU a request (an alias move: 5.4 ms before, 4.1 ms after).
    ``None`` in ``sys.modules`` is Python's own record of a missing module: the same ImportError,
    raised without the search.  A module that is installed is left alone, so MLflow still finds
    Databricks where it runs there.
    """
    for name in DATABRICKS_PROBES:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]


_logged_secrets: Final = Redactor([])
_configured: list[bool] = []


def _configure_mlflow(redact: Redactor) -> None:
    """MLflow's settings for a registry: bounded retries, no telemetry, a larger pool, quiet and masked logs.

    The settings are environment defaults (a user's own values win), set for every registry; the
    log filter and the probes are process-wide and installed once (in-process callers make many).
    """
    for name, value in {**RETRY_DEFAULTS, "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_HTTP_POOL_MAXSIZE": HTTP_CONNECTIONS}.items():
        os.environ.setdefault(name, value)
    _logged_secrets.extend(redact.secrets)
    if _configured:
        return
    _configured.append(True)
    _logged_secrets.install_logging_filter("mlflow", "alembic", "urllib3", "requests")
    remember_absent_probes()
    for noisy in ("mlflow", "alembic"):  # schema creation on a new store logs at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)


class MlflowRegistry:
    def __init__(self, uri: str, deadline: float) -> None:
        self.uri = uri
        self.shown_uri = display_uri(uri)
        self.redact = Redactor.for_tracking(uri)
        self.deadline = deadline
        _configure_mlflow(self.redact)
        import mlflow  # costs seconds: only the registry commands pay for it

        self._exception: type[Exception] = mlflow.exceptions.MlflowException
        self.client: MlflowClient = self._call(lambda: mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri), "connect")

    def _error(self, error: BaseException, action: str) -> RegistryError:
        message = self.redact(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        code = getattr(error, "error_code", "")
        lowered = message.lower()
        # A status code, not the digits of a port (127.0.0.1:44015) or of a request id.
        status_code = re.search(r"(?<![\d.:])40[13](?![\d.])", lowered)
        if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or status_code or any(
            marker in lowered for marker in ("unauthorized", "permission denied", "not authorized")
        ):
            return RegistryError(
                f"not authorized to {action} at {self.shown_uri}: check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD "
                f"or MLFLOW_TRACKING_TOKEN ({message[:200]})",
                exit_code=EXIT_NOT_AUTHORIZED,
            )
        return RegistryError(f"registry {self.shown_uri} unreachable or failing while trying to {action}: {message[:300]}", exit_code=EXIT_UNREACHABLE)

    def _call(self, function: Callable[[], T], action: str, path: str | None = None) -> T:
        """One request within the deadline; a failure as ``_error`` maps it (with ``path``, a 400 is that prompt's ``Rejected``)."""
        if time.monotonic() > self.deadline:
            raise RegistryError(f"deadline passed before {action} at {self.shown_uri}", exit_code=EXIT_UNREACHABLE)
        try:
            return function()
        except FatalError:
            raise
        except Exception as error:  # MLflow, requests and socket errors alike: the registry failed us
            raise (self._error(error, action) if path is None else self._rejected_or_error(error, action, path)) from None

    def _pages(self, page: Callable[[str | None], Page[T]], action: str) -> Iterator[T]:
        """Every item of a paged search: ``page(token)`` answers one page and the next page's token."""
        token: str | None = None
        while True:
            items, token = self._call(functools.partial(page, token), action)
            yield from items
            if not token:
                return

    def is_already_exists(self, error: BaseException) -> bool:
        return isinstance(error, self._exception) and getattr(error, "error_code", "") == "RESOURCE_ALREADY_EXISTS"

    def list_versions(self, names: Iterable[str], jobs: int = 1) -> dict[str, list[StoredVersion]]:
        """Every version of these prompts, with its tags, in one search per hundred names (``jobs`` searches at a time)."""
        wanted = sorted(set(names))
        found: dict[str, list[StoredVersion]] = {name: [] for name in wanted}
        for chunk in _at_once(jobs, self._versions_of, _chunks(wanted)):
            for version in chunk:
                found.setdefault(version.name, []).append(version)
        return found

    def _versions_of(self, names: list[str]) -> list[StoredVersion]:
        filter_string = f"name IN ({_quoted(names)}) AND {IS_PROMPT_FILTER}"
        return list(self._pages(functools.partial(self._model_versions_page, filter_string), "list prompt versions"))

    def _model_versions_page(self, filter_string: str, page_token: str | None) -> Page[StoredVersion]:
        """One page of a model-version search (read as JSON from a REST server)."""
        from mlflow.protos.model_registry_pb2 import SearchModelVersions
        from mlflow.store.model_registry import SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT

        document = self._search_json(SearchModelVersions, filter_string, SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT, page_token)
        if document is None:  # not a REST store: a local database, say
            page = self._models().search_model_versions(filter_string, SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT, None, page_token)
            return [StoredVersion(version.name, int(version.version), dict(version.tags)) for version in page], page.token or None
        versions = [StoredVersion(str(item["name"]), int(item["version"]), tag_dict(item.get("tags"))) for item in document.get("model_versions", [])]
        return versions, document.get("next_page_token") or None

    def _search_json(self, request: type, filter_string: str, max_results: int, page_token: str | None) -> dict[str, Any] | None:
        """A search's answer as plain JSON, or None when the registry is not a REST server.

        The same request, auth, retries and error checks as the REST store's (its own endpoint,
        ``http_request``, ``verify_rest_response``), without converting the answer to protobuf and
        entities first: for searches of whole prompts and versions, templates included (a quarter of
        a megabyte per hundred prompts), that conversion cost the client more CPU than the rest.
        """
        store = self._models()
        endpoint_of = getattr(store, "_get_endpoint_from_method", None)
        if endpoint_of is None:
            return None
        from mlflow.utils import rest_utils

        endpoint, method = endpoint_of(request)
        params = {"filter": filter_string, "max_results": str(max_results), **({"page_token": page_token} if page_token else {})}
        response = rest_utils.http_request(store.get_host_creds(), endpoint, method, params=params)  # type: ignore[no-untyped-call]
        document: dict[str, Any] = rest_utils.verify_rest_response(response, endpoint).json()
        return document

    def _status(self, error: BaseException) -> int | None:
        status = getattr(error, "get_http_status_code", None)
        return status() if isinstance(error, self._exception) and callable(status) else None

    def _rejected_or_error(self, error: BaseException, action: str, path: str) -> FatalError:
        """A 400 is the registry refusing this input: that prompt's error; the rest as ``_error`` says."""
        if self._status(error) == HTTP_BAD_REQUEST or type(error).__name__ == "ValidationError":  # pydantic, client-side
            message = self.redact(" ".join(str(error).split()))
            return Rejected(f"{self.shown_uri} refused to {action}: {message[:500]}", path=path)
        return self._error(error, action)

    def _remove_if_empty(self, name: str, path: str) -> None:
        """Delete a prompt name that has no version (ours was refused), so no name is left without one."""
        filter_string = f"name = '{name}' AND {IS_PROMPT_FILTER}"
        found = self._call(lambda: self.client.search_model_versions(filter_string=filter_string, max_results=1), f"look at {name}", path)
        if not found:
            self._call(lambda: self.client.delete_prompt(name), f"remove the empty prompt {name}", path)

    def register(self, prompt: CommittedPrompt, commit: str, message: str, name_exists: bool, prepared: Registration | None = None) -> int:
        """Register one prompt version; returns its MLflow version number.

        A refused version (:class:`Rejected`) leaves no prompt name without a version behind.
        """
        sent = prepared or registration(prompt, commit)
        path = prompt.entry.path
        action = f"register {prompt.name} {prompt.entry.version}"
        if not name_exists:
            # One request, with the prompt-level metadata; unlike register_prompt it puts no version tags at prompt level.
            metadata = prompt_metadata(prompt)
            try:
                self.client.create_prompt(prompt.name, description=metadata.description, tags=metadata.tags)
            except Exception as error:
                if not self.is_already_exists(error):  # else another sync created it a moment ago
                    raise self._rejected_or_error(error, action, path) from None
        try:
            created = self._call(
                lambda: self.client.create_prompt_version(
                    name=prompt.name,
                    template=sent.template,
                    description=message,
                    tags=sent.tags,
                    model_config=sent.model_config,
                    response_format=sent.response_format,
                ),
                action,
                path,
            )
        except Rejected:
            if not name_exists:
                self._remove_if_empty(prompt.name, path)
            raise
        return int(created.version)

    def prompt_metadata(self, names: Iterable[str]) -> dict[str, PromptMetadata]:
        """The description and tags of these prompts (those that exist), in one search per hundred names."""
        found: dict[str, PromptMetadata] = {}
        for chunk in _chunks(sorted(set(names))):

            def page(token: str | None, chunk: list[str] = chunk) -> Page[Any]:
                answer = self.client.search_prompts(filter_string=f"name IN ({_quoted(chunk)})", page_token=token)
                return list(answer), answer.token

            for prompt in self._pages(page, "read prompt descriptions and tags"):
                found[prompt.name] = PromptMetadata(prompt.description or "", dict(prompt.tags))
        return found

    def update_prompt_metadata(self, name: str, path: str, current: PromptMetadata, wanted: PromptMetadata) -> list[str]:
        """Bring a prompt's description and prompt-level tags to ``wanted``; returns what changed."""
        changed: list[str] = []
        if current.description != wanted.description:
            self._call(lambda: self.client.update_registered_model(name, description=wanted.description), f"set the description of {name}", path)
            changed.append("description")
        try:
            previous = set(json.loads(current.tags.get(TAG_PROMPT_TAGS, "[]")))
        except ValueError:
            previous = set()
        for key, value in sorted(wanted.tags.items()):
            if current.tags.get(key) != value:
                self._call(functools.partial(self.client.set_prompt_tag, name, key, value), f"set tag {key} on {name}", path)
                if key != TAG_PROMPT_TAGS:  # bookkeeping, not news
                    changed.append(f"tag {key}")
        for key in sorted(previous - set(wanted.tags)):
            if key in current.tags and is_user_key(key):
                self._call(functools.partial(self.client.delete_prompt_tag, name, key), f"delete tag {key} from {name}", path)
                changed.append(f"tag {key} removed")
        return changed

    def version_by_semver(self, name: str, semver: str) -> StoredVersion | None:
        """The MLflow version holding ``semver`` of a prompt (the lowest, if several), with its tags, in one request."""
        filter_string = f"name = '{name}' AND {IS_PROMPT_FILTER} AND tag.`{TAG_VERSION}` = '{semver}'"
        found = self._call(lambda: self.client.search_model_versions(filter_string=filter_string), f"find {name} {semver}")
        versions = sorted((StoredVersion(name, int(version.version), dict(version.tags)) for version in found), key=lambda version: version.number)
        return versions[0] if versions else None

    def version_by_alias(self, name: str, alias: str) -> StoredVersion | None:
        """The MLflow version an alias (an environment) points at, with its tags, in one request."""
        # MlflowClient.get_model_version_by_alias refuses prompts after fetching, and get_prompt_version_by_alias
        # reads the prompt first: the registry client below makes the one request alone.
        try:
            registry_client: Any = self.client._get_registry_client()  # type: ignore[no-untyped-call]
            found = registry_client.get_model_version_by_alias(name, alias)
            return StoredVersion(name, int(found.version), dict(found.tags))
        except Exception as error:
            if getattr(error, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise self._error(error, f"find {name}@{alias}") from None

    def delete_version(self, name: str, number: int) -> None:
        self._call(lambda: self.client.delete_prompt_version(name, str(number)), f"remove duplicate {name} version {number}")

    # --- deploy: aliases, prompt-level tags and deployment records ---------------------------------

    def _models(self) -> Any:
        """The registry store: MlflowClient's own prompt search drops aliases, its alias setter checks twice first."""
        return self.client._get_registry_client().store  # type: ignore[no-untyped-call]

    def prompt_states(self, names: Iterable[str], jobs: int = 1) -> dict[str, PromptState]:
        """Aliases and prompt-level tags of these prompts (absent: no such prompt), in one search per hundred names (``jobs`` at a time)."""
        found: dict[str, PromptState] = {}
        for chunk in _at_once(jobs, self._states_of, _chunks(sorted(set(names)))):
            found.update(chunk)
        return found

    def _states_of(self, names: list[str]) -> dict[str, PromptState]:
        return self._search_prompts(f"name IN ({_quoted(names)}) AND {IS_PROMPT_MODEL_FILTER}", "read prompt aliases")

    def prompts_tagged(self, key: str) -> dict[str, PromptState]:
        """Every prompt carrying the prompt-level tag ``key``."""
        return self._search_prompts(f"tags.`{key}` LIKE '%' AND {IS_PROMPT_MODEL_FILTER}", f"find prompts tagged {key}")

    def _search_prompts(self, filter_string: str, action: str) -> dict[str, PromptState]:
        return {state.name: state for state in self._pages(functools.partial(self._registered_models_page, filter_string), action)}

    def _registered_models_page(self, filter_string: str, page_token: str | None) -> Page[PromptState]:
        """One page of a registered-model search, as prompt states (read as JSON from a REST server)."""
        from mlflow.protos.model_registry_pb2 import SearchRegisteredModels

        document = self._search_json(SearchRegisteredModels, filter_string, NAMES_PER_SEARCH, page_token)
        if document is None:  # not a REST store: a local database, say
            page = self._models().search_registered_models(filter_string, NAMES_PER_SEARCH, None, page_token)
            states = [
                PromptState(model.name, {alias: int(number) for alias, number in dict(model.aliases or {}).items()}, dict(model.tags or {}))
                for model in page
            ]
            return states, page.token or None
        states = [
            PromptState(
                str(model["name"]),
                {str(item["alias"]): int(item["version"]) for item in model.get("aliases", []) if "alias" in item},
                tag_dict(model.get("tags")),
            )
            for model in document.get("registered_models", [])
        ]
        return states, document.get("next_page_token") or None

    def set_alias(self, name: str, alias: str, number: int) -> None:
        """Point ``alias`` at a version: one request, which the server applies as one upsert.

        The server's upsert reads, then inserts or updates: when another run creates the same alias
        between the two, the database refuses this insert (a 400 naming a unique constraint).  The alias
        exists then, and the same request again updates it; whose write won is for the deploy's re-read.
        """

        def upsert() -> None:
            store = self._models()
            try:
                store.set_registered_model_alias(name, alias, number)
            except Exception as error:
                if self._status(error) != HTTP_BAD_REQUEST or not UNIQUE_VIOLATION.search(str(error)):
                    raise
                store.set_registered_model_alias(name, alias, number)

        self._call(upsert, f"point {name}@{alias} at version {number}")

    def delete_alias(self, name: str, alias: str) -> None:
        self._call(lambda: self._models().delete_registered_model_alias(name, alias), f"remove {name}@{alias}")

    def set_prompt_tag(self, name: str, key: str, value: str) -> None:
        self._call(lambda: self.client.set_prompt_tag(name, key, value), f"tag {name} with {key}")

    def delete_prompt_tag(self, name: str, key: str) -> None:
        self._call(lambda: self.client.delete_prompt_tag(name, key), f"remove tag {key} from {name}")

    def experiment_id(self, name: str, create: bool) -> str | None:
        """The id of the experiment holding deployment records (created when asked)."""
        found = self._call(lambda: self.client.get_experiment_by_name(name), f"find experiment {name}")
        if found is not None:
            return str(found.experiment_id)
        if not create:
            return None
        try:
            return str(self.client.create_experiment(name))
        except Exception as error:
            if not self.is_already_exists(error):  # else a concurrent deploy created it a moment ago
                raise self._error(error, f"create experiment {name}") from None
        again = self._call(lambda: self.client.get_experiment_by_name(name), f"find experiment {name}")
        return None if again is None else str(again.experiment_id)

    def create_record(self, experiment_id: str, name: str, tags: Mapping[str, str], model_type: str) -> str:
        """A LoggedModel in state PENDING, every tag in the one request; returns its model id."""
        create = functools.partial(self.client.create_logged_model, experiment_id, name=name, tags=dict(tags), model_type=model_type)
        return str(self._call(create, "record the deployment").model_id)

    def set_record_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        self._call(lambda: self.client.set_logged_model_tags(model_id, dict(tags)), "update the deployment record")

    # --- an environment's lease: a registered model (not a prompt), whose creation is atomic ---------

    def create_lease(self, name: str, tags: Mapping[str, str]) -> bool:
        """Create the lease; False when it exists (another run holds it)."""
        try:
            from mlflow.entities.model_registry import RegisteredModelTag

            store_tags = [RegisteredModelTag(key, value) for key, value in tags.items()]  # type: ignore[no-untyped-call]
            self._models().create_registered_model(name, store_tags, "prompthooks: held while a deploy changes an environment")
        except Exception as error:
            if self.is_already_exists(error):
                return False
            raise self._error(error, f"take the lease {name}") from None
        return True

    def lease_tags(self, name: str) -> dict[str, str] | None:
        try:
            return dict(self._models().get_registered_model(name).tags or {})
        except Exception as error:
            if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise self._error(error, f"read the lease {name}") from None

    def delete_lease(self, name: str) -> None:
        try:
            self._models().delete_registered_model(name)
        except Exception as error:
            if getattr(error, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
                raise self._error(error, f"release the lease {name}") from None

    def finalize_record(self, model_id: str, ready: bool) -> None:
        self._call(lambda: self.client.finalize_logged_model(model_id, "READY" if ready else "FAILED"), "finalize the deployment record")

    def search_records(self, experiment_id: str, filter_string: str, max_results: int | None = None) -> list[StoredRecord]:
        """Deployment records matching ``filter_string``, newest first (all of them unless ``max_results``)."""
        order = [{"field_name": "creation_time", "ascending": False}]
        page_size = min(NAMES_PER_SEARCH, max_results) if max_results else NAMES_PER_SEARCH

        def page(token: str | None) -> Page[StoredRecord]:
            answer = self.client.search_logged_models([experiment_id], filter_string=filter_string, max_results=page_size, order_by=order, page_token=token)
            return [_stored_record(model) for model in answer], answer.token

        found: list[StoredRecord] = []
        for record in self._pages(page, "read deployment records"):
            found.append(record)
            if max_results and len(found) >= max_results:
                break
        return found

    def get_record(self, model_id: str) -> StoredRecord | None:
        try:
            return _stored_record(self.client.get_logged_model(model_id))
        except Exception as error:
            if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise self._error(error, f"read deployment record {model_id}") from None


    # --- traces, for an A/B report: experiments, and one arm's traces a page at a time -------------

    def experiments(self, wanted: Sequence[str]) -> dict[str, str]:
        """Id -> name of the experiments named (each by name, else by id), or of every active one when none is."""
        if not wanted:

            def page(token: str | None) -> Page[Any]:
                answer = self.client.search_experiments(max_results=EXPERIMENTS_PER_SEARCH, page_token=token)
                return list(answer), answer.token

            return {str(experiment.experiment_id): str(experiment.name) for experiment in self._pages(page, "list experiments")}
        found: dict[str, str] = {}
        for item in wanted:
            experiment = self._call(functools.partial(self.client.get_experiment_by_name, item), f"find experiment {item}")
            if experiment is None and item.isdigit():
                experiment = self._call(functools.partial(_none_if_missing, functools.partial(self.client.get_experiment, item)), f"find experiment {item}")
            if experiment is None:
                raise RegistryError(f"no experiment named or numbered {item!r} at {self.shown_uri}")
            found[str(experiment.experiment_id)] = str(experiment.name)
        return found

    def traces(self, experiment_ids: Sequence[str], filter_string: str) -> Iterator[dict[str, Any]]:
        """Every trace ``filter_string`` finds in these experiments, as MLflow's ``TraceInfo`` JSON, newest first, 500 a request.

        Paged by time, not by MLflow's page token: the token is an offset, so the database reads every
        earlier row again for each page, and a report's later pages cost more and more (measured: 3.5 times
        the server's CPU for 2.5 times the traces).  Each next page asks for traces started no later than
        the oldest one seen, skipping those of that millisecond it already has; only where one millisecond
        holds a whole page of them (or a time cannot be read) does it follow the token.
        """
        before: int | None = None  # the oldest millisecond reached
        seen: set[str] = set()  # the traces of that millisecond already yielded
        token: str | None = None
        while True:
            clause = filter_string if before is None else f"{filter_string} AND trace.timestamp_ms <= {before}"
            items, next_token = self._call(functools.partial(self._traces_page, list(experiment_ids), clause, token), "search traces")
            yield from (item for item in items if item.get("trace_id") not in seen)
            if not next_token or not items:
                return
            stamps = [request_ms(item) for item in items]
            oldest = None if None in stamps else min(stamp for stamp in stamps if stamp is not None)
            if oldest is None or oldest == before:  # unreadable times, or a whole page in one millisecond: the same query's next page
                seen |= {str(item.get("trace_id")) for item, stamp in zip(items, stamps, strict=True) if stamp == before}
                token = next_token
                continue
            seen = {str(item.get("trace_id")) for item, stamp in zip(items, stamps, strict=True) if stamp == oldest}
            before, token = oldest, None

    def _traces_page(self, experiment_ids: list[str], filter_string: str, page_token: str | None) -> Page[dict[str, Any]]:
        """One page of a trace search, read as JSON from a REST server (its entities as the same JSON from a local store)."""
        store: Any = self.client._tracking_client.store
        endpoints = getattr(store, "_V3_METHOD_TO_INFO", None)
        if endpoints is None:  # not a REST store: a local database, say
            from mlflow.utils.proto_json_utils import message_to_json

            infos, token = store.search_traces(
                locations=experiment_ids, filter_string=filter_string, max_results=PAGE_SIZE, order_by=TRACE_ORDER, page_token=page_token
            )
            return [json.loads(message_to_json(info.to_proto())) for info in infos], token or None
        from mlflow.protos.service_pb2 import SearchTracesV3
        from mlflow.utils import rest_utils

        endpoint, method = endpoints[SearchTracesV3]
        body = {
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": item}} for item in experiment_ids],
            "filter": filter_string,
            "max_results": PAGE_SIZE,
            "order_by": TRACE_ORDER,
            **({"page_token": page_token} if page_token else {}),
        }
        response = rest_utils.http_request(store.get_host_creds(), endpoint, method, json=body)  # type: ignore[no-untyped-call]
        document: dict[str, Any] = rest_utils.verify_rest_response(response, endpoint).json()
        return list(document.get("traces", [])), document.get("next_page_token") or None


def _none_if_missing(function: Callable[[], T]) -> T | None:
    """``function``'s answer, or None when the registry answers that there is no such thing."""
    try:
        return function()
    except Exception as error:
        if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _chunks(names: list[str]) -> list[list[str]]:
    return [names[start : start + NAMES_PER_SEARCH] for start in range(0, len(names), NAMES_PER_SEARCH)]


def _at_once(jobs: int, function: Callable[[list[str]], T], chunks: list[list[str]]) -> list[T]:
    """``function`` of every chunk, ``jobs`` at a time, results in the chunks' order.

    Each search is one request that keeps one server worker busy for a while (hundreds of
    milliseconds at a hundred prompts): in sequence they leave the other workers idle.
    """
    if jobs <= 1 or len(chunks) <= 1:
        return [function(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        return list(pool.map(function, chunks))


def _stored_record(model: Any) -> StoredRecord:
    status = getattr(model.status, "name", None) or str(model.status)
    return StoredRecord(str(model.model_id), str(status), int(model.creation_timestamp or 0), dict(model.tags or {}))
