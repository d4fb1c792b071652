"""Rendering a Dotprompt body as Dotprompt's reference implementation does (``dotpromptz``, an optional extra).

A Dotprompt body is Handlebars with Dotprompt's helpers (``role``, ``json``, ``ifEquals``...):
``dotpromptz`` renders it, with the partials the prompt uses and its front matter's
``input.default``.  Handlebars reads values only through mappings and lists, never Python
attributes, so a template cannot reach the application's objects.  dotpromptz is imported
when a Dotprompt is first rendered, never by ``load``.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final, NamedTuple, TypeVar

EXTRA: Final = "pip install 'prompthooks[dotprompt]'"
USER_ROLE: Final = "user"

T = TypeVar("T")


class Setup(NamedTuple):
    """What a Dotprompt body renders with besides its values (hashable: compiled once per setup)."""

    partials: tuple[tuple[str, str], ...] = ()  # (name, body) of each ``{{> name}}`` it uses, in file mode
    defaults: str = "{}"  # the front matter's ``input.default``, as JSON


class RenderError(Exception):
    """Dotprompt refused the template or the values: the message says why."""


def setup_of(metadata: Mapping[str, Any], partials: Mapping[str, str]) -> Setup:
    """The setup of a Dotprompt whose front matter is ``metadata`` and whose partials' bodies are ``partials``."""
    declared = metadata.get("input")
    defaults = declared.get("default") if isinstance(declared, Mapping) else None
    shown = json.dumps(defaults if isinstance(defaults, Mapping) else {}, sort_keys=True, default=str)
    return Setup(tuple(sorted(partials.items())), shown)


def defaults_of(setup: Setup) -> dict[str, Any]:
    parsed = json.loads(setup.defaults)
    return parsed if isinstance(parsed, dict) else {}


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run dotpromptz's coroutine from synchronous code, inside an application's event loop too.

    Rendering without tools or schema resolvers never waits on anything: driven directly, it
    finishes at its first step.  Should it wait, it runs on an event loop of its own (in a
    helper thread when this thread already runs one).
    """
    coroutine = make()
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]
    coroutine.close()
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    outcome: list[T | BaseException] = []

    def helper() -> None:
        try:
            outcome.append(asyncio.run(make()))
        except BaseException as error:  # handed to the caller below
            outcome.append(error)

    thread = threading.Thread(target=helper, name="prompthooks-dotprompt")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


@functools.lru_cache(maxsize=256)
def _compiled(template: str, setup: Setup) -> Any:
    try:
        from dotpromptz import Dotprompt
    except ImportError:
        raise RenderError(f"rendering a Dotprompt needs dotpromptz, Dotprompt's reference implementation: {EXTRA}") from None
    # The source Dotprompt would parse: the input defaults are the only front matter rendering reads (JSON is YAML).
    front_matter = json.dumps({"input": {"default": defaults_of(setup)}}, ensure_ascii=False)
    engine = Dotprompt(partials=dict(setup.partials))
    try:
        return _run(lambda: engine.compile(f"---\n{front_matter}\n---\n{template}"))
    except Exception as error:  # a partial cycle, invalid Handlebars
        raise RenderError(f"{type(error).__name__}: {error}") from None


def render(template: str, setup: Setup, values: Mapping[str, Any]) -> str | list[dict[str, str]]:
    """The rendered prompt: its text when Dotprompt renders one user message, else its messages (``role``, ``content``)."""
    function = _compiled(template, setup)  # RenderError when dotpromptz is not installed
    from dotpromptz import DataArgument

    try:
        rendered = _run(lambda: function(DataArgument(input=dict(values))))
    except Exception as error:  # Handlebars' syntax and lookup errors, a helper's refusal
        raise RenderError(f"{type(error).__name__}: {error}") from None
    messages: list[dict[str, str]] = []
    for message in rendered.messages:
        texts = []
        for part in message.content:
            text = getattr(part, "text", None)
            if not isinstance(text, str):
                raise RenderError(f"it renders a {type(part).__name__} (not text): render it with dotpromptz to get Dotprompt's parts")
            texts.append(text)
        role = getattr(message.role, "value", message.role)
        messages.append({"role": str(role), "content": "".join(texts)})
    if not messages:
        return ""
    if len(messages) == 1 and messages[0]["role"] == USER_ROLE:
        return messages[0]["content"]
    return messages
