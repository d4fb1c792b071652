"""The MLflow Prompt Registry, as sync uses it.  mlflow is imported here and nowhere else.

A prompt is a registered model tagged ``mlflow.prompt.is_prompt``; each of its
versions holds the template in a tag.  Searching versions by tag needs that
tag in the filter, or MLflow silently returns nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

from prompthooks.contract import TAG_COMMIT, TAG_HASH, TAG_METADATA, TAG_PATH, TAG_VERSION
from prompthooks.errors import FatalError
from prompthooks.hashing import PromptContent, canonical_json, content_hash
from prompthooks.secrets import Redactor, display_uri
from prompthooks.syncplan import RegistryVersion

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from prompthooks.snapshot import CommittedPrompt

EXIT_UNREACHABLE: Final = 4
EXIT_NOT_AUTHORIZED: Final = 5

TEMPLATE_TAG: Final = "mlflow.prompt.text"
IS_PROMPT_FILTER: Final = "tag.`mlflow.prompt.is_prompt` = 'true'"
NAMES_PER_SEARCH: Final = 100  # keeps the search's query string short
# Bounded HTTP retries unless the user chose their own; the deadline bounds the whole run.
RETRY_DEFAULTS: Final = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
SPECIAL_METADATA: Final = frozenset({"model_config", "response_format"})

T = TypeVar("T")


class RegistryError(FatalError):
    pass


def _registry_tags(prompt: CommittedPrompt, commit: str) -> dict[str, str]:
    metadata = prompt.content.metadata
    tags = {
        key: value if isinstance(value, str) else canonical_json(value)
        for key, value in metadata.items()
        if key not in SPECIAL_METADATA and not key.startswith(("mlflow.", "_mlflow", "prompthooks_")) and not (key == "name" and value == prompt.name)
    }
    tags.update(
        {
            TAG_VERSION: prompt.entry.version,
            TAG_HASH: prompt.entry.hash,
            TAG_COMMIT: commit,
            TAG_PATH: prompt.entry.path,
            TAG_METADATA: canonical_json(metadata),
        }
    )
    return tags


def model_config_of(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """Model parameters for MLflow's model_config, from the front-matter conventions in use.

    ``model_config`` as MLflow spells it; else Prompty's ``model: {configuration, parameters}``;
    else Dotprompt's ``model: <name>`` with ``config: {...}``.
    """
    explicit = metadata.get("model_config")
    if isinstance(explicit, dict):
        return explicit
    model, config = metadata.get("model"), metadata.get("config")
    if isinstance(model, dict) and isinstance(model.get("parameters"), dict):
        found = dict(model["parameters"])
        configuration = model.get("configuration")
        if isinstance(configuration, dict):
            name = configuration.get("model") or configuration.get("azure_deployment") or configuration.get("name")
            if isinstance(name, str) and not name.startswith("${"):
                found.setdefault("model_name", name)
        return found
    if isinstance(config, dict):
        return {**({"model_name": model} if isinstance(model, str) else {}), **config}
    return None


def stored_content_hash(tags: Mapping[str, str]) -> str | None:
    """Re-hash a registry version's template and metadata as they are stored now."""
    template, metadata = tags.get(TEMPLATE_TAG), tags.get(TAG_METADATA)
    if template is None or metadata is None:
        return None
    try:
        parsed = json.loads(metadata)
    except ValueError:
        return None
    return content_hash(PromptContent(template, parsed)) if isinstance(parsed, dict) else None


class MlflowRegistry:
    def __init__(self, uri: str, redact: Redactor, deadline: float) -> None:
        self.uri = uri
        self.shown_uri = display_uri(uri)
        self.redact = redact
        self.deadline = deadline
        for name, value in RETRY_DEFAULTS.items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow  # costs seconds: only sync pays for it

        for noisy in ("mlflow", "alembic"):  # schema creation on a new store logs at INFO
            logging.getLogger(noisy).setLevel(logging.WARNING)
        redact.install_logging_filter("mlflow", "alembic", "urllib3", "requests")
        self._exception: type[Exception] = mlflow.exceptions.MlflowException
        self.client: MlflowClient = self._call(lambda: mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri), "connect")

    def _error(self, error: BaseException, action: str) -> RegistryError:
        message = self.redact(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        code = getattr(error, "error_code", "")
        lowered = message.lower()
        if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or any(
            marker in lowered for marker in ("401", "403", "unauthorized", "permission denied", "not authorized")
        ):
            return RegistryError(
                f"not authorized to {action} at {self.shown_uri}: check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD "
                f"or MLFLOW_TRACKING_TOKEN ({message[:200]})",
                exit_code=EXIT_NOT_AUTHORIZED,
            )
        return RegistryError(f"registry {self.shown_uri} unreachable or failing while trying to {action}: {message[:300]}", exit_code=EXIT_UNREACHABLE)

    def _call(self, function: Callable[[], T], action: str) -> T:
        if time.monotonic() > self.deadline:
            raise RegistryError(f"deadline passed before {action} at {self.shown_uri}", exit_code=EXIT_UNREACHABLE)
        try:
            return function()
        except RegistryError:
            raise
        except Exception as error:  # MLflow, requests and socket errors alike: the registry failed us
            raise self._error(error, action) from None

    def is_already_exists(self, error: BaseException) -> bool:
        return isinstance(error, self._exception) and getattr(error, "error_code", "") == "RESOURCE_ALREADY_EXISTS"

    def list_versions(self, names: Iterable[str]) -> dict[str, list[RegistryVersion]]:
        """Every version of these prompts, with its tags, in one search per hundred names."""
        wanted = sorted(set(names))
        found: dict[str, list[RegistryVersion]] = {name: [] for name in wanted}
        for start in range(0, len(wanted), NAMES_PER_SEARCH):
            chunk = wanted[start : start + NAMES_PER_SEARCH]
            quoted = ", ".join(f"'{name}'" for name in chunk)
            filter_string = f"name IN ({quoted}) AND {IS_PROMPT_FILTER}"
            page_token = None
            while True:
                search = functools.partial(self.client.search_model_versions, filter_string=filter_string, page_token=page_token)
                page = self._call(search, "list prompt versions")
                for version in page:
                    tags = dict(version.tags)
                    found.setdefault(version.name, []).append(
                        RegistryVersion(version.name, int(version.version), tags.get(TAG_VERSION), tags.get(TAG_HASH), stored_content_hash(tags))
                    )
                page_token = page.token
                if not page_token:
                    break
        return found

    def register(self, prompt: CommittedPrompt, commit: str, message: str, name_exists: bool) -> int:
        """Register one prompt version; returns its MLflow version number."""
        metadata = prompt.content.metadata
        options: dict[str, Any] = {
            "template": prompt.content.body,
            "tags": _registry_tags(prompt, commit),
            "model_config": model_config_of(metadata),
            "response_format": metadata.get("response_format") if isinstance(metadata.get("response_format"), dict) else None,
        }
        action = f"register {prompt.name} {prompt.entry.version}"
        if not name_exists:
            # One request, and unlike register_prompt it puts no version tags at prompt level.
            try:
                self.client.create_prompt(prompt.name)
            except Exception as error:
                if not self.is_already_exists(error):  # else another sync created it a moment ago
                    raise self._error(error, action) from None
        created = self._call(
            lambda: self.client.create_prompt_version(name=prompt.name, description=message, **options), action
        )
        return int(created.version)

    def delete_version(self, name: str, number: int) -> None:
        self._call(lambda: self.client.delete_prompt_version(name, str(number)), f"remove duplicate {name} version {number}")


# The runtime loader's reads (``prompthooks.load``).  Each is one request without MLflow's
# retries (7, backing off to 247 s with the server down) and with a timeout, so a whole
# ``load`` stays within its deadline; the loader falls back on failure instead of retrying.
RUNTIME_API: Final = "/api/2.0/mlflow"


class StoredPrompt(NamedTuple):
    """A prompt as the registry holds it: its prompt-level tags, and alias -> MLflow version."""

    name: str
    tags: dict[str, str]
    aliases: dict[str, int]


class StoredVersion(NamedTuple):
    name: str
    number: int
    tags: dict[str, str]


class RegistryNotFound(Exception):
    """The registry answered, and the prompt, version or alias is not there: an answer, not an outage."""


def registry_uri() -> str | None:
    """The registry the loader reads: ``MLFLOW_REGISTRY_URI``, else ``MLFLOW_TRACKING_URI``."""
    return os.environ.get("MLFLOW_REGISTRY_URI") or os.environ.get("MLFLOW_TRACKING_URI") or None


def stored_content(tags: Mapping[str, str]) -> PromptContent | None:
    """The template and metadata a registry version holds now, as sync registered them."""
    template, metadata = tags.get(TEMPLATE_TAG), tags.get(TAG_METADATA)
    if template is None or metadata is None:
        return None
    try:
        parsed = json.loads(metadata)
    except ValueError:
        return None
    return PromptContent(template, parsed) if isinstance(parsed, dict) else None


def _tag_dict(items: object) -> dict[str, str]:
    if isinstance(items, dict):
        return {str(key): str(value) for key, value in items.items()}
    return {str(item["key"]): str(item.get("value", "")) for item in items or [] if isinstance(item, dict) and "key" in item}  # type: ignore[attr-defined]


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class RuntimeReader:
    """Reads for the loader: plain REST through mlflow's own HTTP helper (its auth, TLS and headers).

    A non-HTTP registry (a local sqlite store) is read through MLflow's store instead; the
    loader's worker thread bounds those by its deadline.
    """

    def __init__(self, uri: str) -> None:
        from mlflow.utils import rest_utils
        from mlflow.utils.credentials import get_default_host_creds

        self.uri = uri
        self.shown_uri = display_uri(uri)
        self._rest = rest_utils
        self._creds = functools.partial(get_default_host_creds, uri)
        self._store: Any = None
        if not uri.startswith(("http://", "https://")):
            import mlflow

            self._store = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)._get_registry_client().store  # type: ignore[no-untyped-call]

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

    def prompt(self, name: str, timeout: float) -> StoredPrompt:
        """The prompt's tags (where deploy's split lives) and its aliases: one request."""
        if self._store is not None:
            try:
                model = self._store.get_registered_model(name)
            except Exception as error:
                if self._not_found(error):
                    raise RegistryNotFound(str(error)) from None
                raise
            aliases = {alias.alias: int(alias.version) for alias in model.aliases or []}
            return StoredPrompt(name, _tag_dict(model.tags), aliases)
        found = self._get("registered-models/get", {"name": name}, timeout).get("registered_model", {})
        aliases = {str(item["alias"]): int(item["version"]) for item in found.get("aliases", []) if "alias" in item}
        return StoredPrompt(name, _tag_dict(found.get("tags")), aliases)

    def version(self, name: str, number: int, timeout: float) -> StoredVersion:
        """One MLflow version of the prompt, with its tags (template, hash, semver): one request."""
        if self._store is not None:
            try:
                found = self._store.get_model_version(name, str(number))
            except Exception as error:
                if self._not_found(error):
                    raise RegistryNotFound(str(error)) from None
                raise
            return StoredVersion(name, int(found.version), _tag_dict(found.tags))
        document = self._get("model-versions/get", {"name": name, "version": str(number)}, timeout).get("model_version", {})
        return StoredVersion(name, int(document["version"]), _tag_dict(document.get("tags")))

    def version_by_semver(self, name: str, semver: str, timeout: float) -> list[StoredVersion]:
        """The MLflow versions tagged with this ``prompthooks_version``: one search."""
        filter_string = f"name = {_quote(name)} AND {IS_PROMPT_FILTER} AND tag.{TAG_VERSION} = {_quote(semver)}"
        if self._store is not None:
            page = self._store.search_model_versions(filter_string=filter_string, max_results=100)
            return [StoredVersion(item.name, int(item.version), _tag_dict(item.tags)) for item in page]
        document = self._get("model-versions/search", {"filter": filter_string, "max_results": "100"}, timeout)
        return [StoredVersion(str(item["name"]), int(item["version"]), _tag_dict(item.get("tags"))) for item in document.get("model_versions", [])]


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
