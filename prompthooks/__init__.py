"""Version prompt templates in git and mirror them into the MLflow Prompt Registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from prompthooks.runtime import Prompt, PromptFormatError, PromptIntegrityError, PromptUnavailableError, load

_RUNTIME = frozenset({"load", "Prompt", "PromptFormatError", "PromptIntegrityError", "PromptUnavailableError"})


def __getattr__(name: str) -> Any:
    # Lazily: the hook imports this package on every commit and needs none of the runtime.
    if name in _RUNTIME:
        from prompthooks import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module 'prompthooks' has no attribute {name!r}")


__all__ = ["Prompt", "PromptFormatError", "PromptIntegrityError", "PromptUnavailableError", "__version__", "load"]
