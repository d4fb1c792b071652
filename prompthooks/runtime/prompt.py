"""``Prompt``: one verified prompt version, as ``load`` serves it, and its rendering.

Rendering never runs code a template asks for: Jinja templates render in Jinja's
``SandboxedEnvironment`` (as MLflow's ``PromptVersion.format`` does), within a budget and reading
only the verified files (``runtime.sandbox``), Dotprompt bodies with Dotprompt's Handlebars (which
reads only mappings and lists), Markdown and text by substitution.  ``format`` raises
``PromptFormatError`` and nothing else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from prompthooks.runtime.dotprompt import Setup
from prompthooks.runtime.errors import PromptFormatError
from prompthooks.runtime.sandbox import Includes

Source = Literal["registry", "lock", "cache"]
Message = Mapping[str, str]  # {"role": ..., "content": ...}
Template = str | tuple[Message, ...]

JINJA: Final = "jinja"
DOTPROMPT: Final = "dotprompt"  # Handlebars with Dotprompt's helpers, rendered by dotpromptz
PLACEHOLDER: Final = "placeholder"  # ``{{ name }}`` substitution: Markdown, text
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")


@dataclass(frozen=True)
class Prompt:
    """A prompt version whose content was hashed and found equal to what it must be.

    ``template`` is the body as registered (front matter stripped): a string, or for a
    chat prompt the messages ``({"role": ..., "content": ...}, ...)``.
    """

    name: str
    version: str  # the semver
    hash: str  # ``sha256:<hex>`` in the lock's scheme
    mlflow_version: int | None
    template: Template
    variables: tuple[str, ...]
    model_config: Mapping[str, Any] | None
    response_format: Mapping[str, Any] | None
    source: Source
    variant: str | None = None  # the A/B arm (alias) served, None without a split
    engine: str = field(default=JINJA, repr=False)
    # The verified files an ``{% include %}`` may read (file mode), never the disk again;
    # None for a registry copy, which is self-contained.
    includes: Includes | None = field(default=None, repr=False)
    # A Dotprompt's partials (file mode) and input defaults.
    dotprompt: Setup = field(default=Setup(), repr=False)

    @property
    def is_chat(self) -> bool:
        return not isinstance(self.template, str)

    def format(self, **values: Any) -> str | list[dict[str, str]]:
        """Render with the values; a missing variable raises ``PromptFormatError`` naming it, extra ones are ignored.

        A Dotprompt renders as Dotprompt does: its text, or its messages when it sets roles (``{{role "system"}}``).
        """
        if self.engine == DOTPROMPT and isinstance(self.template, str):
            return self._dotprompt(self.template, values)
        if isinstance(self.template, str):
            return self._render(self.template, values)
        return [{**message, "content": self._render(message["content"], values)} for message in self.template]

    def _render(self, text: str, values: Mapping[str, Any]) -> str:
        if self.engine != JINJA:
            return _substitute(self, text, values)
        import jinja2  # only when a prompt is rendered
        from jinja2.exceptions import SecurityError

        from prompthooks.runtime import sandbox

        where = f"prompt {self.name} {self.version}"
        try:
            sandbox.require_safe_jinja()
            return sandbox.render(_compiled(text, self.includes), values)
        except sandbox.OutdatedJinja as error:
            raise PromptFormatError(f"{where}: {error}") from None
        except sandbox.BudgetExceeded as error:
            raise PromptFormatError(f"{where}: stopped by the rendering budget: {error}") from None
        except SecurityError as error:
            raise PromptFormatError(f"{where}: refused by Jinja's sandbox, nothing ran: {error}") from None
        except jinja2.UndefinedError as error:
            raise PromptFormatError(f"{where}: missing variable: {error.message}") from None
        except jinja2.TemplateError as error:
            raise PromptFormatError(f"{where}: cannot render: {error}") from None
        except Exception as error:  # ZeroDivisionError, TypeError, IndexError, MemoryError...: the template's, never the caller's
            raise PromptFormatError(f"{where}: cannot render: {type(error).__name__}: {error}") from None

    def _dotprompt(self, text: str, values: Mapping[str, Any]) -> str | list[dict[str, str]]:
        from prompthooks.runtime import dotprompt

        defaults = dotprompt.defaults_of(self.dotprompt)
        missing = sorted(name for name in self.variables if name not in values and name not in defaults)
        if missing:  # Handlebars would render them empty; optional inputs (``style?: string``) are not in ``variables``
            raise PromptFormatError(f"prompt {self.name} {self.version}: missing variable(s): {', '.join(missing)}")
        try:
            return dotprompt.render(text, self.dotprompt, values)
        except dotprompt.RenderError as error:
            raise PromptFormatError(f"prompt {self.name} {self.version}: cannot render as Dotprompt: {error}") from None


@functools.lru_cache(maxsize=1024)
def _compiled(text: str, includes: Includes | None) -> Any:
    """Compiled once per text: a Jinja template renders safely from many threads."""
    from prompthooks.runtime import sandbox

    return sandbox.environment(includes).from_string(text)


def _substitute(prompt: Prompt, text: str, values: Mapping[str, Any]) -> str:
    missing = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise PromptFormatError(f"prompt {prompt.name} {prompt.version}: missing variable(s): {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)
