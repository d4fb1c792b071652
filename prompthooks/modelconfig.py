"""Model settings and response formats, as MLflow stores them: where they come from, and MLflow's rules (pure).

The front-matter conventions in use are mapped onto MLflow's ``PromptModelConfig``
fields, and validated with MLflow's rules without importing mlflow (the hook runs
this for every changed prompt file), so a bad setting fails at ``lock``/``check``
naming the file, line and field instead of failing a sync later.

Where MLflow's client would silently convert a value (the string ``"0.2"`` or
``true`` as a temperature), prompthooks asks for a number instead: what MLflow
stores must be what git says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

Field = tuple[str | int, ...]  # a path into the front matter: ("model", "parameters", "max_tokens")

# MLflow's PromptModelConfig fields (mlflow/entities/model_registry/prompt_version.py) and their rules.
STRING_FIELDS: Final = ("provider", "model_name")
NUMBER_FIELDS: Final = {  # field: (lowest, lowest allowed itself, highest)
    "temperature": (0.0, True, None),
    "top_p": (0.0, True, 1.0),
    "frequency_penalty": (None, True, None),
    "presence_penalty": (None, True, None),
}
INTEGER_FIELDS: Final = ("max_tokens", "top_k")  # each > 0
MLFLOW_FIELDS: Final = (*STRING_FIELDS, "temperature", "max_tokens", "top_p", "top_k", "frequency_penalty", "presence_penalty", "stop_sequences")

# Spellings of those fields in the conventions in use (OpenAI, Dotprompt/Genkit, Prompty 2, Gemini).
ALIASES: Final = {
    "model": "model_name",
    "model_name": "model_name",
    "provider": "provider",
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "maxTokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "maxOutputTokens": "max_tokens",
    "top_p": "top_p",
    "topP": "top_p",
    "top_k": "top_k",
    "topK": "top_k",
    "frequency_penalty": "frequency_penalty",
    "frequencyPenalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "presencePenalty": "presence_penalty",
    "stop": "stop_sequences",
    "stop_sequences": "stop_sequences",
    "stopSequences": "stop_sequences",
}
# Top-level front-matter keys read as model settings (beside being version tags).
TOP_LEVEL_KEYS: Final = ("provider", "model", "model_name", "temperature", "max_tokens", "top_p", "top_k", "frequency_penalty", "presence_penalty", "stop", "stop_sequences")
# Front-matter keys that can hold model settings or a response format: files without any skip this module.
SETTINGS_KEYS: Final = frozenset({*TOP_LEVEL_KEYS, "model_config", "config", "response_format", "outputs", "output"})
# Prompty's ``configuration`` keys naming the model, in order of preference.
PROMPTY_MODEL_KEYS: Final = ("model", "azure_deployment", "name")
# Picoschema's scalar types: ``output: {schema: string}`` is an inline schema, ``output: {schema: Recipe}`` a named one.
PICOSCHEMA_SCALARS: Final = frozenset({"any", "boolean", "integer", "null", "number", "string"})
JSON_TYPES: Final = {"string": "string", "str": "string", "number": "number", "float": "number", "integer": "integer", "int": "integer",
                     "boolean": "boolean", "bool": "boolean", "array": "array", "object": "object"}


class Problem(NamedTuple):
    field: Field
    message: str

    def describe(self) -> str:
        return f"{dotted(self.field)}: {self.message}"


class Settings(NamedTuple):
    model_config: dict[str, Any] | None  # as MLflow's load_prompt(...).model_config returns it
    response_format: dict[str, Any] | None
    problems: tuple[Problem, ...]


def dotted(field: Field) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else (f".{part}" if index else part) for index, part in enumerate(field))


def has_settings(metadata: Mapping[str, Any]) -> bool:
    return not SETTINGS_KEYS.isdisjoint(metadata)


def _is_placeholder(value: object) -> bool:
    return isinstance(value, str) and value.startswith("${")  # Prompty's ${env:NAME}: not a value until run time


def _json_problem(value: object, field: Field) -> Problem | None:
    """MLflow stores these as JSON: only JSON values (no dates, no infinities) survive the trip unchanged."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return Problem(field, f"keys must be strings, not {key!r}")
            found = _json_problem(item, (*field, key))
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _json_problem(item, (*field, index))
            if found:
                return found
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return Problem(field, f"{value} is not a JSON number")
    if value is None or isinstance(value, (str, int, float, bool)):
        return None
    return Problem(field, f"{type(value).__name__} value {value!r} is not JSON; quote it")


def _check(name: str, value: object, field: Field) -> tuple[object, Problem | None]:
    """One MLflow field's rule; returns the value MLflow will store."""
    if name in STRING_FIELDS:
        return value, None if isinstance(value, str) else Problem(field, f"must be a string, not {value!r}")
    if name in INTEGER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            return value, Problem(field, f"must be a whole number greater than 0, not {value!r}")
        return value, None if value > 0 else Problem(field, f"must be greater than 0, not {value}")
    if name in NUMBER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return value, Problem(field, f"must be a number, not {value!r}")
        low, _, high = NUMBER_FIELDS[name]
        if low is not None and value < low:
            return value, Problem(field, f"must be at least {low:g}, not {value}")
        if high is not None and value > high:
            return value, Problem(field, f"must be at most {high:g}, not {value}")
        return value, None
    # stop_sequences: a list of strings (OpenAI's ``stop`` may be one string)
    sequences = [value] if isinstance(value, str) else value
    if not isinstance(sequences, list) or not all(isinstance(item, str) for item in sequences):
        return value, Problem(field, f"must be a list of strings, not {value!r}")
    return sequences, None


class _Collector:
    """MLflow's fields and the extra parameters, each remembering the front-matter field it came from."""

    def __init__(self) -> None:
        self.fields: dict[str, tuple[object, Field]] = {}
        self.extra: dict[str, tuple[object, Field]] = {}
        self.problems: list[Problem] = []

    def add_mapping(self, mapping: Mapping[str, Any], at: Field, *, extras: bool, skip: frozenset[str] = frozenset()) -> None:
        seen: dict[str, str] = {}
        for key, value in mapping.items():
            key = str(key)
            if key in skip:
                continue
            target = ALIASES.get(key)
            if key == "extra_params" and extras:
                if isinstance(value, Mapping):
                    self.add_mapping(value, (*at, key), extras=True)
                else:
                    self.problems.append(Problem((*at, key), f"extra_params must be a mapping, not {value!r}"))
                continue
            if target is None:
                if extras:
                    self.extra[key] = (value, (*at, key))
                continue
            if target in seen:
                self.problems.append(Problem((*at, key), f"{key} and {seen[target]} both set MLflow's {target}; keep one"))
                continue
            seen[target] = key
            self.fields[target] = (value, (*at, key))

    def add(self, target: str, value: object, field: Field) -> None:
        self.fields[target] = (value, field)

    def result(self) -> dict[str, Any] | None:
        config: dict[str, Any] = {}
        for name in MLFLOW_FIELDS:
            if name in self.fields:
                value, field = self.fields[name]
                if value is None:
                    continue
                stored, problem = _check(name, value, field)
                if problem:
                    self.problems.append(problem)
                config[name] = stored
        for key, (value, field) in self.extra.items():
            problem = _json_problem(value, field)
            if problem:
                self.problems.append(problem)
            if key not in config:  # MLflow merges extra_params over nothing it knows
                config[key] = value
        return config or None


def _prompty_model(model: Mapping[str, Any], collector: _Collector) -> None:
    """Prompty 1 (``configuration`` + ``parameters``) and Prompty 2 (``id``, ``provider``, ``options``)."""
    configuration = model.get("configuration")
    if isinstance(configuration, Mapping):
        kind = configuration.get("type")
        if isinstance(kind, str) and not _is_placeholder(kind):
            collector.add("provider", kind, ("model", "configuration", "type"))
        for key in PROMPTY_MODEL_KEYS:
            name = configuration.get(key)
            if isinstance(name, str) and not _is_placeholder(name):
                collector.add("model_name", name, ("model", "configuration", key))
                break
    for key, target in (("provider", "provider"), ("id", "model_name")):
        value = model.get(key)
        if isinstance(value, str) and not _is_placeholder(value):
            collector.add(target, value, ("model", key))
    for key in ("parameters", "options"):
        parameters = model.get(key)
        if isinstance(parameters, Mapping):
            collector.add_mapping(parameters, ("model", key), extras=True, skip=frozenset({"response_format"}))
        elif parameters is not None:
            collector.problems.append(Problem(("model", key), f"must be a mapping, not {parameters!r}"))


def _model_config(metadata: Mapping[str, Any], path: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    collector = _Collector()
    top = {key: metadata[key] for key in TOP_LEVEL_KEYS if key in metadata and not isinstance(metadata[key], Mapping)}
    collector.add_mapping(top, (), extras=False)
    model = metadata.get("model")
    if isinstance(model, Mapping):
        _prompty_model(model, collector)
    config = metadata.get("config")
    if isinstance(config, Mapping):  # Dotprompt: ``model: googleai/gemini-1.5-pro`` + ``config``
        collector.add_mapping(config, ("config",), extras=True)
    if path.endswith(".prompt") and isinstance(model, str) and "/" in model and "provider" not in collector.fields:
        provider, _, name = model.partition("/")  # a Genkit model reference: plugin/model
        collector.add("provider", provider, ("model",))
        collector.add("model_name", name, ("model",))
    explicit = metadata.get("model_config")
    if isinstance(explicit, Mapping):
        collector.add_mapping(explicit, ("model_config",), extras=True)
    elif explicit is not None:
        collector.problems.append(Problem(("model_config",), f"model_config must be a mapping, not {explicit!r}"))
    return collector.result(), collector.problems


def _kind_schema(spec: object, field: Field, problems: list[Problem]) -> dict[str, Any]:
    """A Prompty output property as JSON Schema."""
    if not isinstance(spec, Mapping):
        return {"type": "string"} if isinstance(spec, str) else {}
    schema: dict[str, Any] = {}
    kind = spec.get("kind", spec.get("type"))
    if kind is not None:
        if kind not in JSON_TYPES:
            problems.append(Problem((*field, "kind"), f"unknown kind {kind!r} (one of {', '.join(sorted(JSON_TYPES))})"))
        else:
            schema["type"] = JSON_TYPES[kind]
    if isinstance(spec.get("description"), str):
        schema["description"] = spec["description"]
    if isinstance(spec.get("items"), Mapping):
        schema["items"] = _kind_schema(spec["items"], (*field, "items"), problems)
    if spec.get("properties") is not None:
        schema.update(_outputs_schema(spec["properties"], (*field, "properties"), problems))
    if isinstance(spec.get("enum"), list):
        schema["enum"] = spec["enum"]
    return schema


def _outputs_schema(outputs: object, field: Field, problems: list[Problem]) -> dict[str, Any]:
    """Prompty's ``outputs`` (a mapping of name to property, or a list of properties) as a JSON Schema object."""
    items: list[tuple[str, object, Field]] = []
    if isinstance(outputs, Mapping):
        items = [(str(name), spec, (*field, str(name))) for name, spec in outputs.items()]
    elif isinstance(outputs, list):
        for index, spec in enumerate(outputs):
            if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
                problems.append(Problem((*field, index), "each output needs a name"))
                continue
            items.append((spec["name"], spec, (*field, index)))
    else:
        problems.append(Problem(field, f"must be a mapping or a list of properties, not {outputs!r}"))
    properties = {name: _kind_schema(spec, at, problems) for name, spec, at in items}
    required = [name for name, spec, _ in items if not (isinstance(spec, Mapping) and spec.get("required") is False)]
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}


def _response_format(metadata: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The first of: ``response_format``; Prompty's model ``parameters``/``options`` ``response_format``;
    Dotprompt's ``output.schema``; Prompty's ``outputs``."""
    problems: list[Problem] = []
    found: tuple[object, Field] | None = None
    model = metadata.get("model")
    output = metadata.get("output")
    candidates: list[tuple[object, Field]] = [(metadata.get("response_format"), ("response_format",))]
    if isinstance(model, Mapping):
        for key in ("parameters", "options"):
            if isinstance(model.get(key), Mapping):
                candidates.append((model[key].get("response_format"), ("model", key, "response_format")))
    if isinstance(output, Mapping):
        candidates.append((output.get("schema"), ("output", "schema")))
    for value, field in candidates:
        if value is not None:
            found = (value, field)
            break
    if found is None:
        if metadata.get("outputs") is None:
            return None, problems
        schema = _outputs_schema(metadata["outputs"], ("outputs",), problems)
        return schema, problems
    value, field = found
    if field == ("output", "schema") and isinstance(value, str) and value.strip():
        return _string_schema(value), problems
    if not isinstance(value, Mapping) or not value:
        if field == ("output", "schema"):
            problems.append(Problem(field, f"must be an inline schema (a mapping) or the name of one registered in code, not {value!r}"))
            return None, problems
        hint = " such as {type: json_object}" if isinstance(value, str) else ""
        problems.append(Problem(field, f"response_format must be a non-empty mapping (a JSON schema{hint}), not {value!r}"))
        return None, problems
    problem = _json_problem(value, field)
    if problem:
        problems.append(problem)
    return dict(value), problems


def named_schema(value: object) -> str | None:
    """The name of a schema Dotprompt's ``output.schema`` refers to (``schema: Recipe``, registered in code
    with Genkit's ``defineSchema``), or None when it is written inline (a mapping, or a Picoschema scalar)."""
    if not isinstance(value, str) or not value.strip():
        return None
    type_name = value.partition(",")[0].strip()
    return None if type_name in PICOSCHEMA_SCALARS else type_name


def _string_schema(value: str) -> dict[str, Any] | None:
    """Dotprompt's ``output.schema`` written as a string, as Picoschema reads it: a scalar type
    (``integer, the score``) is an inline schema; any other word names a schema registered in code,
    which MLflow cannot hold as a response format: it stays in the ``output`` metadata (a version tag)."""
    if named_schema(value) is not None:
        return None
    type_name, _, description = (part.strip() for part in value.partition(","))
    schema: dict[str, Any] = {} if type_name == "any" else {"type": type_name}
    if description:
        schema["description"] = description
    return schema or None


def settings(metadata: Mapping[str, Any], path: str) -> Settings:
    """What MLflow gets as ``model_config`` and ``response_format``, and what is wrong with it."""
    if not has_settings(metadata):
        return Settings(None, None, ())
    config, problems = _model_config(metadata, path)
    response_format, format_problems = _response_format(metadata)
    return Settings(config, response_format, tuple(problems + format_problems))
