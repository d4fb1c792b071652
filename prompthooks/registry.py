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
import re
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

    # --- deploy: aliases, prompt-level tags and deployment records ---------------------------------

    def _models(self) -> Any:
        """The registry store: MlflowClient's own prompt search drops aliases, its alias setter checks twice first."""
        return self.client._get_registry_client().store  # type: ignore[no-untyped-call]

    def prompt_states(self, names: Iterable[str]) -> dict[str, PromptState]:
        """Aliases and prompt-level tags of these prompts (absent: no such prompt), in one search per hundred names."""
        wanted = sorted(set(names))
        found: dict[str, PromptState] = {}
        for start in range(0, len(wanted), NAMES_PER_SEARCH):
            quoted = ", ".join(f"'{name}'" for name in wanted[start : start + NAMES_PER_SEARCH])
            found.update(self._search_prompts(f"name IN ({quoted}) AND {IS_PROMPT_MODEL_FILTER}", "read prompt aliases"))
        return found

    def prompts_tagged(self, key: str) -> dict[str, PromptState]:
        """Every prompt carrying the prompt-level tag ``key``."""
        return self._search_prompts(f"tags.`{key}` LIKE '%' AND {IS_PROMPT_MODEL_FILTER}", f"find prompts tagged {key}")

    def _search_prompts(self, filter_string: str, action: str) -> dict[str, PromptState]:
        found: dict[str, PromptState] = {}
        page_token = None
        while True:
            search = functools.partial(self._models().search_registered_models, filter_string, NAMES_PER_SEARCH, None, page_token)
            page = self._call(search, action)
            for model in page:
                aliases = {alias: int(number) for alias, number in dict(model.aliases or {}).items()}
                found[model.name] = PromptState(model.name, aliases, dict(model.tags or {}))
            page_token = page.token
            if not page_token:
                return found

    def set_alias(self, name: str, alias: str, number: int) -> None:
        """Point ``alias`` at a version: one request, which the server applies as one upsert."""
        self._call(lambda: self._models().set_registered_model_alias(name, alias, number), f"point {name}@{alias} at version {number}")

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

    def finalize_record(self, model_id: str, ready: bool) -> None:
        self._call(lambda: self.client.finalize_logged_model(model_id, "READY" if ready else "FAILED"), "finalize the deployment record")

    def search_records(self, experiment_id: str, filter_string: str, max_results: int | None = None) -> list[StoredRecord]:
        """Deployment records matching ``filter_string``, newest first (all of them unless ``max_results``)."""
        found: list[StoredRecord] = []
        page_token = None
        order = [{"field_name": "creation_time", "ascending": False}]
        while True:
            page_size = min(NAMES_PER_SEARCH, max_results - len(found)) if max_results else NAMES_PER_SEARCH
            search = functools.partial(
                self.client.search_logged_models, [experiment_id], filter_string=filter_string, max_results=page_size, order_by=order, page_token=page_token
            )
            page = self._call(search, "read deployment records")
            found.extend(_stored_record(model) for model in page)
            page_token = page.token
            if not page_token or (max_results and len(found) >= max_results):
                return found

    def get_record(self, model_id: str) -> StoredRecord | None:
        try:
            return _stored_record(self.client.get_logged_model(model_id))
        except Exception as error:
            if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise self._error(error, f"read deployment record {model_id}") from None


IS_PROMPT_MODEL_FILTER: Final = "tags.`mlflow.prompt.is_prompt` = 'true'"


class PromptState(NamedTuple):
    """A prompt's aliases (alias -> MLflow version number) and prompt-level tags."""

    name: str
    aliases: dict[str, int]
    tags: dict[str, str]


class StoredRecord(NamedTuple):
    """A deployment record as stored: a LoggedModel's id, status, creation time and tags."""

    id: str
    status: str  # PENDING, READY or FAILED
    created_ms: int
    tags: dict[str, str]


def _stored_record(model: Any) -> StoredRecord:
    status = getattr(model.status, "name", None) or str(model.status)
    return StoredRecord(str(model.model_id), str(status), int(model.creation_timestamp or 0), dict(model.tags or {}))
