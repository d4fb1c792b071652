"""The registry as the runtime loader reads it (``prompthooks.load``).

Each read is one request without MLflow's retries (7, backing off to 247 s with the
server down) and with a timeout, so a whole ``load`` stays within its deadline; the
loader falls back on failure instead of retrying.  mlflow is imported when a reader is
made, never by importing this module.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Final

from prompthooks.contract import TAG_VERSION
from prompthooks.registry.stored import IS_PROMPT_FILTER, PromptState, StoredVersion, tag_dict
from prompthooks.secrets import display_uri

RUNTIME_API: Final = "/api/2.0/mlflow"
DATABASE_SCHEMES: Final = frozenset({"postgresql", "mysql", "sqlite", "mssql"})  # MLflow's SQLAlchemy stores


class RegistryNotFound(Exception):
    """The registry answered, and the prompt, version or alias is not there: an answer, not an outage."""


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class RuntimeReader:
    """Reads for the loader: plain REST through mlflow's own HTTP helper (its auth, TLS and headers).

    Any other registry (``databricks``, ``sqlite:///…``, ``postgresql://…``, ``mysql://…``) is read
    through MLflow's own store for that URI.  Making the reader only imports what it needs (outside
    the loader's deadline, as ``import mlflow`` is); the store itself, which may connect to a
    database and retry for minutes, is made by the first read, in the loader's worker thread,
    so the deadline and the retry back-off cover it.  A store that could not be made is tried
    again by the next read.
    """

    def __init__(self, uri: str) -> None:
        from mlflow.utils import rest_utils
        from mlflow.utils.credentials import get_default_host_creds

        self.uri = uri
        self.shown_uri = display_uri(uri)
        self._rest = rest_utils
        self._creds = functools.partial(get_default_host_creds, uri)
        self.rest = uri.startswith(("http://", "https://"))
        self._made: Any = None
        self._making = threading.Lock()
        if not self.rest:
            import mlflow

            self._mlflow = mlflow
            if uri.partition(":")[0].partition("+")[0] in DATABASE_SCHEMES:
                import mlflow.store.model_registry.sqlalchemy_store  # noqa: F401 - seconds of imports, before any deadline

    @property
    def _store(self) -> Any:
        """MLflow's store for a non-HTTP registry, made on first use (None for an HTTP one)."""
        if self.rest:
            return None
        with self._making:
            if self._made is None:
                client = self._mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
                self._made = client._get_registry_client().store  # type: ignore[no-untyped-call]
            return self._made

    def _get(self, endpoint: str, params: dict[str, str], timeout: float) -> dict[str, Any]:
        response = self._rest.http_request(  # type: ignore[no-untyped-call]
            self._creds(), f"{RUNTIME_API}/{endpoint}", "GET", max_retries=0, backoff_factor=0, timeout=max(timeout, 0.05), params=params
        )
        if response.status_code == 404 or (response.status_code == 400 and "RESOURCE_DOES_NOT_EXIST" in response.text):
            raise RegistryNotFound(f"{endpoint} {params}: {response.text[:200]}")
        self._rest.verify_rest_response(response, endpoint)
        document: dict[str, Any] = response.json()
        return document

    def _not_found(self, error: Exception) -> bool:
        return getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"

    def prompt(self, name: str, timeout: float) -> PromptState:
        """The prompt's tags (where deploy's split lives) and its aliases: one request."""
        store = self._store
        if store is not None:
            try:
                model = store.get_registered_model(name)
            except Exception as error:
                if self._not_found(error):
                    raise RegistryNotFound(str(error)) from None
                raise
            aliases = {str(alias): int(number) for alias, number in dict(model.aliases or {}).items()}  # alias -> version
            return PromptState(name, aliases, tag_dict(model.tags))
        found = self._get("registered-models/get", {"name": name}, timeout).get("registered_model", {})
        aliases = {str(item["alias"]): int(item["version"]) for item in found.get("aliases", []) if "alias" in item}
        return PromptState(name, aliases, tag_dict(found.get("tags")))

    def version(self, name: str, number: int, timeout: float) -> StoredVersion:
        """One MLflow version of the prompt, with its tags (template, hash, semver): one request."""
        store = self._store
        if store is not None:
            try:
                found = store.get_model_version(name, str(number))
            except Exception as error:
                if self._not_found(error):
                    raise RegistryNotFound(str(error)) from None
                raise
            return StoredVersion(name, int(found.version), tag_dict(found.tags))
        document = self._get("model-versions/get", {"name": name, "version": str(number)}, timeout).get("model_version", {})
        return StoredVersion(name, int(document["version"]), tag_dict(document.get("tags")))

    def version_by_semver(self, name: str, semver: str, timeout: float) -> list[StoredVersion]:
        """The MLflow versions tagged with this ``prompthooks_version``: one search."""
        filter_string = f"name = {_quote(name)} AND {IS_PROMPT_FILTER} AND tag.{TAG_VERSION} = {_quote(semver)}"
        store = self._store
        if store is not None:
            page = store.search_model_versions(filter_string=filter_string, max_results=100)
            return [StoredVersion(item.name, int(item.version), tag_dict(item.tags)) for item in page]
        document = self._get("model-versions/search", {"filter": filter_string, "max_results": "100"}, timeout)
        return [StoredVersion(str(item["name"]), int(item["version"]), tag_dict(item.get("tags"))) for item in document.get("model_versions", [])]


@functools.cache
def _tracing() -> tuple[Any, ...]:
    from mlflow.entities.model_registry import PromptVersion
    from mlflow.tracing.constant import SpanAttributeKey
    from mlflow.tracing.fluent import get_active_trace_id, get_current_active_span
    from mlflow.tracing.trace_manager import InMemoryTraceManager
    from mlflow.tracing.utils.prompt import update_linked_prompts_tag

    return PromptVersion, SpanAttributeKey.LINKED_PROMPTS, get_active_trace_id, get_current_active_span, InMemoryTraceManager, update_linked_prompts_tag


def link_to_active_trace(name: str, number: int, template: object) -> None:
    """Link a served prompt version to the active MLflow trace and span, as ``mlflow.genai.load_prompt`` does.

    Only called when mlflow is already imported: without it no trace can be active.
    """
    prompt_version, linked_prompts, active_trace_id, active_span, manager, update_tag = _tracing()
    trace_id = active_trace_id()
    span = active_span()
    if trace_id is None and span is None:
        return
    prompt = prompt_version(name=name, version=number, template=template)
    if trace_id is not None:
        manager.get_instance().register_prompt(trace_id=trace_id, prompt=prompt)
    if span is not None:
        span.set_attribute(linked_prompts, update_tag(span.attributes.get(linked_prompts), [prompt]))
