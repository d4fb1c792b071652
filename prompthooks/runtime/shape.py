"""From verified content to a ``Prompt``: everything served is derived from what was hashed.

The one place that decides a prompt's engine, chat messages, model config and
response format, in both the registry and the file path, so the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from prompthooks.hashing import PromptContent
from prompthooks.runtime.dotprompt import Setup, setup_of
from prompthooks.runtime.prompt import DOTPROMPT, JINJA, PLACEHOLDER, Prompt, Source, Template
from prompthooks.runtime.sandbox import Includes

if TYPE_CHECKING:
    from prompthooks.config import Config

DOTPROMPT_SUFFIX = ".prompt"


def _frozen(value: object) -> Mapping[str, Any] | None:
    return MappingProxyType(dict(value)) if isinstance(value, dict) else None


def template_of(content: PromptContent, path: str) -> Template:
    """The body as text, or as role messages for a chat prompt (split by the rule sync registers it with)."""
    from prompthooks import chat

    found = chat.chat_of(path, content.metadata, content.body)
    return content.body if found is None else tuple(found.messages)


def partials_of(path: str, sources: Mapping[str, str]) -> dict[str, str]:
    """A Dotprompt's partials among its closure's files (``_name.prompt`` beside it): name -> body, as sync inlines them."""
    from prompthooks import frontmatter

    found = {}
    for other, text in sources.items():
        base = other.rpartition("/")[2]
        if other != path and base.startswith("_") and base.endswith(DOTPROMPT_SUFFIX):
            found[base[1 : -len(DOTPROMPT_SUFFIX)]] = frontmatter.parse(text, other).body
    return found


def _includes(path: str, sources: Mapping[str, str], settings: Config | None) -> Includes:
    from prompthooks import config

    return Includes(path, tuple(sorted(sources.items())), settings or config.DEFAULT)


def build(
    name: str,
    version: str,
    hash_: str,
    content: PromptContent,
    path: str,
    *,
    source: Source,
    mlflow_version: int | None,
    variables: tuple[str, ...] | None,
    sources: Mapping[str, str] | None = None,
    settings: Config | None = None,
) -> Prompt:
    """``sources``: the verified files of its closure (file mode), the only ones its includes and a Dotprompt's partials
    may read, looked up along ``settings``' search path (None: the defaults); a registry copy is self-contained."""
    from prompthooks import modelconfig
    from prompthooks import variables as interface

    if path.endswith(DOTPROMPT_SUFFIX):
        engine = DOTPROMPT
    else:
        engine = JINJA if interface.uses_jinja(path, content.metadata) else PLACEHOLDER
    if variables is None:
        variables = interface.find(content.body, path, content.metadata, 1)
    response_format = content.metadata.get("response_format")
    return Prompt(
        name=name,
        version=version,
        hash=hash_,
        mlflow_version=mlflow_version,
        template=template_of(content, path),
        variables=variables,
        model_config=_frozen(modelconfig.settings(content.metadata, path).model_config),
        response_format=_frozen(response_format),
        source=source,
        engine=engine,
        includes=_includes(path, sources, settings) if engine == JINJA and sources is not None else None,
        dotprompt=setup_of(content.metadata, partials_of(path, sources or {})) if engine == DOTPROMPT else Setup(),
    )
