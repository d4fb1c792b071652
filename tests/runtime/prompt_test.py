"""``Prompt.format``: strict about missing variables, tolerant of extra ones, sandboxed, and Dotprompt rendered as Dotprompt does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from prompthooks.config import DEFAULT
from prompthooks.runtime import PromptFormatError, dotprompt
from prompthooks.runtime.prompt import DOTPROMPT, JINJA, PLACEHOLDER, Prompt
from prompthooks.runtime.sandbox import Includes


def _prompt(template: str | tuple[dict[str, str], ...], engine: str = JINJA, files: dict[str, str] | None = None) -> Prompt:
    """A prompt at ``prompts/assistant.jinja2``; ``files``: the verified files of its closure, by path (file mode)."""
    includes = None if files is None else Includes("prompts/assistant.jinja2", tuple(sorted(files.items())), DEFAULT)
    return Prompt("assistant", "1.0.0", "sha256:x", None, template, ("question",), None, None, "lock", engine=engine, includes=includes)


def test_format_renders_and_allows_extra_variables() -> None:
    assert _prompt("Answer {{ question }}.").format(question="why", extra=1) == "Answer why."


def test_missing_variable_raises_naming_it() -> None:
    with pytest.raises(PromptFormatError, match="question"):
        _prompt("Answer {{ question }}.").format()
    with pytest.raises(PromptFormatError, match="question"):
        _prompt("Answer {{ question }}.", PLACEHOLDER).format(other=1)


def test_placeholder_engine_for_text_prompts() -> None:
    assert _prompt("Hi {{ name }}, {{name}}!", PLACEHOLDER).format(name="Ann") == "Hi Ann, Ann!"


def test_chat_prompt_returns_rendered_messages() -> None:
    chat = _prompt(({"role": "system", "content": "Be brief."}, {"role": "user", "content": "{{ question }}"}))
    assert chat.is_chat
    assert chat.format(question="Why?") == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}]
    with pytest.raises(PromptFormatError, match="question"):
        chat.format()


def test_includes_resolve_like_a_file_system_loader() -> None:
    """Along the search path (the prompt's folder, then the root), as the hook resolved the closure."""
    files = {"prompts/_rules.j2": "Be concise.\n", "_footer.j2": "Thanks.", "prompts/_footer.j2": "Bye."}
    prompt = _prompt('{% include "_rules.j2" %} {{ question }}', files=files)
    assert prompt.format(question="Why?") == "Be concise. Why?"
    assert _prompt('{% include "_footer.j2" %}', files=files).format() == "Bye."
    assert _prompt('{% include "prompts/_rules.j2" %}', files=files).format() == "Be concise."


def test_an_include_reads_only_the_verified_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file beside the prompt that is not in its verified closure is never read, even when it exists."""
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts/_other.j2").write_text("unverified")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PromptFormatError, match=r"prompt assistant 1\.0\.0: cannot render: .*_other\.j2"):
        _prompt('{% include "_other.j2" %}', files={"prompts/assistant.jinja2": ""}).format()
    with pytest.raises(PromptFormatError, match="cannot render"):  # a registry copy has no loader at all
        _prompt('{% include "_other.j2" %}').format()


def test_prompt_is_immutable() -> None:
    prompt = _prompt("x")
    with pytest.raises(AttributeError):
        prompt.version = "2.0.0"  # type: ignore[misc]


PAYLOAD = "{{ cycler.__init__.__globals__.os.popen('id > %s').read() }}"


@pytest.mark.parametrize("engine", [JINJA, PLACEHOLDER])
def test_a_sandbox_escape_renders_nothing_and_runs_nothing(tmp_path: Path, engine: str) -> None:
    """MLflow's own PromptVersion.format() renders in Jinja's sandbox: so does every Prompt, whatever it was loaded from."""
    witness = tmp_path / "ran"
    prompt = _prompt(PAYLOAD % witness, engine)
    if engine == JINJA:
        with pytest.raises(PromptFormatError, match=r"prompt assistant 1\.0\.0: refused by Jinja's sandbox, nothing ran: .*__init__"):
            prompt.format(question="Why?")
    else:  # substitution: the expression is not a variable name, so it stays text
        assert prompt.format(question="Why?") == PAYLOAD % witness
    chat = _prompt(({"role": "user", "content": "{{ question }}"}, {"role": "system", "content": PAYLOAD % witness}))
    with pytest.raises(PromptFormatError, match="sandbox"):
        chat.format(question="Why?")
    include = _prompt('{% include "_evil.j2" %}', files={"prompts/_evil.j2": PAYLOAD % witness})
    with pytest.raises(PromptFormatError, match="sandbox"):
        include.format(question="Why?")
    assert not witness.exists()


@pytest.mark.parametrize("body", ["{{ 1 / 0 }}", '{{ "a" + 1 }}', "{{ dict(a=1).items|list }}", '{{ ("{0.x}"|attr("format_map"))({"0": 1}) }}'])
def test_format_raises_only_prompt_format_error(body: str) -> None:
    """README: format() raises PromptFormatError (missing variable, sandbox refusal, cannot render).  A template error
    Jinja does not wrap (ZeroDivisionError, TypeError, IndexError) left format() as itself, past an application's
    `except PromptFormatError` (a registry writer can serve such a template for any version the image does not know)."""
    from prompthooks.hashing import PromptContent
    from prompthooks.runtime import shape

    prompt = shape.build("adv", "1.0.0", "sha256:x", PromptContent(body, {}), "prompts/adv.jinja2", source="lock", mlflow_version=None, variables=())
    with pytest.raises(PromptFormatError):
        prompt.format()
    with pytest.raises(PromptFormatError, match=r"^prompt adv 1\.0\.0: cannot render: \w+Error"):
        prompt.format()


# --- Dotprompt: rendered by dotpromptz, Dotprompt's reference implementation ------------------------------------------


SUMMARIZE = "Summarize the following text{{#if style}} in a {{style}} style{{/if}}:\n\n{{text}}\n"


def _dotprompt(template: str, required: tuple[str, ...], metadata: dict[str, object] | None = None, partials: dict[str, str] | None = None) -> Prompt:
    setup = dotprompt.setup_of(metadata or {}, partials or {})
    return Prompt("summarize", "1.0.0", "sha256:x", None, template, required, None, None, "lock", engine=DOTPROMPT, dotprompt=setup)


def _reference(source: str, values: dict[str, object], partials: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """What Dotprompt itself renders from the file's source: (role, text) per message."""
    import asyncio

    from dotpromptz import DataArgument, Dotprompt

    rendered = asyncio.run(Dotprompt(partials=partials).render(source, DataArgument(input=values)))
    return [(str(message.role.value), "".join(part.text for part in message.content)) for message in rendered.messages]  # type: ignore[union-attr]


def test_dotprompt_optional_inputs_and_blocks_render_as_dotprompt_does() -> None:
    front_matter = "---\nmodel: googleai/gemini-1.5-flash\ninput:\n  schema:\n    text: string\n    style?: string\n---\n"
    prompt = _dotprompt(SUMMARIZE, ("text",))
    assert prompt.format(text="T") == "Summarize the following text:\n\nT" == _reference(front_matter + SUMMARIZE, {"text": "T"})[0][1]
    assert prompt.format(text="T", style="terse") == "Summarize the following text in a terse style:\n\nT"
    assert _reference(front_matter + SUMMARIZE, {"text": "T", "style": "terse"}) == [("user", prompt.format(text="T", style="terse"))]
    with pytest.raises(PromptFormatError, match=r"prompt summarize 1\.0\.0: missing variable\(s\): text"):
        prompt.format(style="terse")


BLOCKS = (
    "{{#each items}}- {{this}}{{#unless @last}},{{/unless}}\n{{else}}nothing\n{{/each}}"
    "{{#if urgent}}now{{else}}later{{/if}} {{json meta}} {{#ifEquals tone \"warm\"}}hi{{/ifEquals}}\n{{> signoff}}"
)


@pytest.mark.parametrize(
    "values",
    [
        {"items": ["a", "b"], "urgent": True, "meta": {"k": 1}, "tone": "warm", "who": "Ann"},
        {"items": [], "urgent": False, "meta": [], "tone": "cold", "who": "<Bob & co>"},
    ],
)
def test_dotprompt_each_unless_else_helpers_and_partials(values: dict[str, object]) -> None:
    partials = {"signoff": "Regards, {{who}}"}
    prompt = _dotprompt(BLOCKS, (), partials=partials)
    assert [("user", prompt.format(**values))] == _reference(BLOCKS, values, partials)


def test_dotprompt_roles_give_messages_and_defaults_fill_inputs() -> None:
    template = '{{role "system"}}\nYou are {{persona}}.\n{{role "user"}}\n{{question}}\n'
    prompt = _dotprompt(template, ("persona", "question"), {"input": {"default": {"persona": "a pirate"}}})
    source = '---\ninput:\n  default:\n    persona: a pirate\n---\n' + template
    assert prompt.format(question="Why?") == [{"role": role, "content": text} for role, text in _reference(source, {"question": "Why?"})]
    assert prompt.format(question="Why?") == [{"role": "system", "content": "\nYou are a pirate.\n"}, {"role": "user", "content": "\nWhy?"}]


def test_dotprompt_renders_inside_a_running_event_loop() -> None:
    import asyncio

    async def handler() -> object:  # an async web framework's request handler
        return _dotprompt(SUMMARIZE, ("text",)).format(text="T")

    assert asyncio.run(handler()) == "Summarize the following text:\n\nT"


def test_dotprompt_reads_no_python_attributes() -> None:
    prompt = _dotprompt("{{text.__class__}}{{lookup text '__class__'}}", ())
    assert prompt.format(text="T") == ""


def test_dotprompt_without_dotpromptz_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dotpromptz", None)  # not installed: importing it raises ImportError
    with pytest.raises(PromptFormatError, match=r"prompt summarize 1\.0\.0: .* needs dotpromptz.*prompthooks\[dotprompt\]"):
        _dotprompt("Never compiled before: {{text}}", ("text",)).format(text="T")
