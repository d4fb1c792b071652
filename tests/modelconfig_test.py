"""Model settings and response formats: the mapping table, and MLflow's rules checked without mlflow."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from mlflow.entities.model_registry.prompt_version import PromptModelConfig

from prompthooks import modelconfig, promptfile
from prompthooks.errors import FatalError
from prompthooks.modelconfig import settings


@pytest.mark.parametrize(
    ("metadata", "path", "expected"),
    [
        # top-level keys (the original plan's `model` tag)
        ({"model": "gpt-4o-mini", "temperature": 0.2}, "a.jinja2", {"model_name": "gpt-4o-mini", "temperature": 0.2}),
        ({"provider": "openai", "model": "gpt-4o", "stop": "###"}, "a.md", {"provider": "openai", "model_name": "gpt-4o", "stop_sequences": ["###"]}),
        ({"owner": "team", "description": "no settings"}, "a.md", None),
        # an explicit model_config, MLflow's own spelling; other keys become extra parameters
        ({"model_config": {"model": "gpt-4o-mini", "max_tokens": 600, "seed": 7}}, "a.jinja2", {"model_name": "gpt-4o-mini", "max_tokens": 600, "seed": 7}),
        ({"model_config": {"temperature": 0.2, "extra_params": {"seed": 1}}}, "a.md", {"temperature": 0.2, "seed": 1}),
        # explicit model_config wins over the other conventions
        ({"model_config": {"temperature": 0.2}, "config": {"temperature": 0.9}}, "a.prompt", {"temperature": 0.2}),
        # Prompty 1: model.configuration + model.parameters
        (
            {"model": {"api": "chat", "configuration": {"type": "azure_openai", "azure_deployment": "gpt-4o"}, "parameters": {"max_tokens": 800}}},
            "a.prompty",
            {"provider": "azure_openai", "model_name": "gpt-4o", "max_tokens": 800},
        ),
        ({"model": {"configuration": {"azure_deployment": "${env:DEPLOYMENT}"}, "parameters": {"temperature": 0}}}, "a.prompty", {"temperature": 0}),
        # Prompty 2: model.id, model.provider, model.options (camelCase)
        (
            {"model": {"id": "gpt-4o", "provider": "openai", "options": {"maxOutputTokens": 100, "topP": 0.5, "stopSequences": ["x"]}}},
            "a.prompty",
            {"provider": "openai", "model_name": "gpt-4o", "max_tokens": 100, "top_p": 0.5, "stop_sequences": ["x"]},
        ),
        # Dotprompt: model reference plugin/name, config in camelCase
        (
            {"model": "googleai/gemini-1.5-pro", "config": {"temperature": 0.4, "maxOutputTokens": 256, "topK": 40}},
            "a.prompt",
            {"provider": "googleai", "model_name": "gemini-1.5-pro", "temperature": 0.4, "max_tokens": 256, "top_k": 40},
        ),
        ({"model": "googleai/gemini-1.5-pro"}, "a.prompt", {"provider": "googleai", "model_name": "gemini-1.5-pro"}),
        ({"model": "meta-llama/Llama-3-8B"}, "a.md", {"model_name": "meta-llama/Llama-3-8B"}),
    ],
)
def test_model_config_mapping(metadata: dict[str, Any], path: str, expected: dict[str, Any] | None) -> None:
    found = settings(metadata, path)
    assert found.problems == ()
    assert found.model_config == expected
    if expected is not None:  # exactly what MLflow stores for it
        assert PromptModelConfig.from_dict(expected).to_dict() == expected


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"max_tokens": 0}, ("model_config", "max_tokens"), "must be greater than 0"),
        ({"max_tokens": 64.5}, ("model_config", "max_tokens"), "whole number"),
        ({"top_k": -1}, ("model_config", "top_k"), "greater than 0"),
        ({"temperature": -0.1}, ("model_config", "temperature"), "at least 0"),
        ({"top_p": 1.5}, ("model_config", "top_p"), "at most 1"),
        ({"model_name": 5}, ("model_config", "model_name"), "must be a string"),
        ({"provider": ["openai"]}, ("model_config", "provider"), "must be a string"),
        ({"stop_sequences": ["a", 1]}, ("model_config", "stop_sequences"), "list of strings"),
        ({"temperature": float("nan")}, ("model_config", "temperature"), "must be a number"),
        ({"seed": datetime.date(2026, 1, 31)}, ("model_config", "seed"), "not JSON"),
    ],
)
def test_what_mlflow_refuses_is_a_problem_naming_the_field(config: dict[str, Any], field: tuple[str, ...], message: str) -> None:
    [problem] = settings({"model_config": config}, "a.md").problems
    assert problem.field == field
    assert message in problem.message


@pytest.mark.parametrize(
    "config",
    [{"max_tokens": 0}, {"max_tokens": 64.5}, {"top_k": 0}, {"temperature": -1}, {"top_p": 2}, {"model_name": 5}, {"stop_sequences": ["a", 1]}, {"stop_sequences": "x"}],
)
def test_mlflow_refuses_them_too(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PromptModelConfig.from_dict(config)


@pytest.mark.parametrize("config", [{"temperature": "0.2"}, {"max_tokens": True}, {"temperature": True}])
def test_values_mlflow_would_silently_convert_are_refused(config: dict[str, Any]) -> None:
    assert json.dumps(PromptModelConfig.from_dict(config).to_dict()) != json.dumps(config)  # MLflow would store something else
    assert settings({"model_config": config}, "a.md").problems


def test_two_spellings_of_one_field_are_a_problem() -> None:
    [problem] = settings({"config": {"maxOutputTokens": 5, "max_tokens": 4}}, "a.prompt").problems
    assert "both set MLflow's max_tokens" in problem.message


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"response_format": {"type": "object", "properties": {"a": {"type": "string"}}}}, {"type": "object", "properties": {"a": {"type": "string"}}}),
        ({"model": {"parameters": {"temperature": 0, "response_format": {"type": "json_object"}}}}, {"type": "json_object"}),
        ({"output": {"format": "json", "schema": {"type": "object"}}}, {"type": "object"}),
        (
            {"outputs": {"score": {"kind": "integer", "description": "1-5"}, "why": {"kind": "string", "required": False}}},
            {"type": "object", "properties": {"score": {"type": "integer", "description": "1-5"}, "why": {"type": "string"}}, "required": ["score"]},
        ),
        ({"outputs": [{"name": "answer", "kind": "string"}]}, {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}),
        ({"description": "none"}, None),
    ],
)
def test_response_format_sources(metadata: dict[str, Any], expected: dict[str, Any] | None) -> None:
    found = settings(metadata, "a.prompty")
    assert found.problems == ()
    assert found.response_format == expected


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ({"format": "json", "schema": "Recipe"}, None),  # Genkit's defineSchema('Recipe', ...): registered in code
        ({"schema": "menu.Item"}, None),
        ({"schema": "string"}, {"type": "string"}),  # a Picoschema scalar is an inline schema
        ({"schema": "integer, the score from 1 to 5"}, {"type": "integer", "description": "the score from 1 to 5"}),
        ({"schema": "any"}, None),
        ({"schema": {"title": "string"}}, {"title": "string"}),
    ],
)
def test_a_named_output_schema_is_kept_and_only_inline_ones_are_response_formats(output: dict[str, Any], expected: dict[str, Any] | None) -> None:
    found = settings({"model": "googleai/gemini-1.5-flash", "output": output}, "recipe.prompt")
    assert found.problems == ()
    assert found.response_format == expected


def test_a_genkit_sample_with_a_named_schema_is_locked() -> None:
    raw = b"---\nmodel: googleai/gemini-1.5-flash\ninput:\n  schema:\n    food: string\noutput:\n  format: json\n  schema: Recipe\n---\nA recipe for {{food}}.\n"
    found = promptfile.read(raw, "prompts/recipe.prompt")
    assert found.variables == ("food",)


def test_prompty_response_format_is_not_also_a_model_parameter() -> None:
    found = settings({"model": {"parameters": {"temperature": 0, "response_format": {"type": "json_object"}}}}, "a.prompty")
    assert found.model_config == {"temperature": 0}


@pytest.mark.parametrize("value", ["json_object", [], {}])
def test_a_response_format_must_be_a_mapping(value: object) -> None:
    [problem] = settings({"response_format": value}, "a.md").problems
    assert problem.field == ("response_format",)


@pytest.mark.parametrize("value", ["", [], {}, 3])
def test_an_output_schema_is_a_mapping_or_a_name(value: object) -> None:
    [problem] = settings({"output": {"schema": value}}, "a.prompt").problems
    assert problem.field == ("output", "schema")


def test_the_hook_names_file_line_and_field() -> None:
    raw = b"---\nname: a\nmodel_config:\n  temperature: 0.2\n  max_tokens: 0\n---\nHi\n"
    with pytest.raises(FatalError) as raised:
        promptfile.read(raw, "prompts/a.md")
    assert str(raised.value) == "prompts/a.md:5: model_config.max_tokens: must be greater than 0, not 0 (MLflow's model settings rules)"


def test_nested_prompty_field_line_in_a_jinja_comment() -> None:
    raw = b"{#\nname: a\nmodel:\n  configuration:\n    type: openai\n  parameters:\n    top_p: 3\n#}\nx\n"
    with pytest.raises(FatalError) as raised:
        promptfile.read(raw, "a.jinja2")
    assert (raised.value.line, raised.value.message.split(":")[0]) == (7, "model.parameters.top_p")


def test_files_without_settings_skip_the_module() -> None:
    assert not modelconfig.has_settings({"name": "a", "owner": "b"})
